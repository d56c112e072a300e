"""``tunelab dashboard``: a live web view of a storage, served by the standard library.

The server reads storage only, so it works over SQLite, PostgreSQL and MySQL while
``tunelab run`` writes from another process, and while no engine runs at all. Actions
(stop a job, stop an experiment) go through the storage inbox to the running engine.
"""

from tunelab.dashboard._data import DashboardData
from tunelab.dashboard._server import DashboardServer, is_loopback

__all__ = ["DashboardData", "DashboardServer", "is_loopback"]
