"""Asking the engine that runs an experiment to stop it, or one of its jobs: shared by
``tunelab stop`` and the dashboard.

Only the engine writes results, so both send a request through the storage inbox
(:class:`tunelab.storage.Inbox`) and the engine answers with what it did.
"""

from __future__ import annotations

import time

from tunelab import storage as st
from tunelab._owner import live_owner
from tunelab.exceptions import UserError


class NoEngine(Exception):
    """No engine is running the experiment, so nobody would act on a request."""


def ask_stop(store: st.Storage, experiment: st.Experiment, job: int | None = None, cancel: bool = False) -> int:
    """Send a stop request for ``experiment`` (drain, or cancel the running jobs) or for
    its ``job``; return the request id.

    Raises:
        UserError: ``job`` belongs to another experiment.
        StorageError: no such job.
        NoEngine: no engine is running the experiment.
    """
    if job is not None and store.job(job).experiment_id != experiment.id:
        raise UserError(f"--job: job {job} belongs to another experiment; `tunelab show {experiment.name}` lists "
                        f"the jobs of {experiment.name!r}")
    if not live_owner(experiment.owner, experiment.beat):
        raise NoEngine(f"no engine is running {experiment.name!r} (status {experiment.status}); nothing to stop")
    inbox = st.Inbox(store)
    if job is not None:
        return inbox.send(experiment.id, st.STOP_JOB, target=job)
    return inbox.send(experiment.id, st.STOP_EXPERIMENT, payload={"mode": "cancel" if cancel else "drain"})


def await_answer(store: st.Storage, request_id: int, wait: float) -> st.Request:
    """The request once the engine handled it, or as it is after ``wait`` seconds."""
    inbox = st.Inbox(store)
    deadline = time.monotonic() + wait
    while inbox.get(request_id).handled is None and time.monotonic() < deadline:
        time.sleep(0.2)
    return inbox.get(request_id)
