"""Search algorithms (proposers) and their registry.

Use :func:`create` to build one by name with checked options, or import a class.
"""

from tunelab.proposers._base import JobView, Proposal, Proposer
from tunelab.proposers._gp import GPProposer
from tunelab.proposers._grid import BatchProposer, GridProposer
from tunelab.proposers._random import RandomProposer
from tunelab.proposers._registry import create, get, names, options, register
from tunelab.proposers._search import Search, sign_of

__all__ = [
    "BatchProposer",
    "GPProposer",
    "GridProposer",
    "JobView",
    "Proposal",
    "Proposer",
    "RandomProposer",
    "Search",
    "create",
    "get",
    "names",
    "options",
    "register",
    "sign_of",
]
