"""Asking the engine that runs an experiment to stop it or one of its jobs, or to take a
passive job's score: shared by ``tunelab stop``, ``tunelab report`` and the dashboard.

Only the engine writes results, so both send a request through the storage inbox
(:class:`tunelab.storage.Inbox`) and the engine answers with what it did.
"""

from __future__ import annotations

import math
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
    _check(store, experiment, job, "--job", "nothing to stop")
    inbox = st.Inbox(store)
    if job is not None:
        return inbox.send(experiment.id, st.STOP_JOB, target=job)
    return inbox.send(experiment.id, st.STOP_EXPERIMENT, payload={"mode": "cancel" if cancel else "drain"})


def ask_score(store: st.Storage, experiment: st.Experiment, job: int, value: float) -> int:
    """Send the score of a waiting job of a ``passive`` experiment; return the request id.

    Raises:
        UserError: ``value`` is not a finite number, or ``job`` belongs to another experiment.
        StorageError: no such job.
        NoEngine: no engine is running the experiment.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UserError(f"value: {value!r} is not a score; give a finite number, like 0.93")
    _check(store, experiment, job, "job", f"`tunelab resume {experiment.name}` runs it again")
    return st.Inbox(store).send(experiment.id, st.SCORE_JOB, target=job, payload={"value": float(value)})


def _check(store: st.Storage, experiment: st.Experiment, job: int | None, field: str, idle: str) -> None:
    """Refuse a request that names another experiment's job, or that no engine would read."""
    if job is not None and store.job(job).experiment_id != experiment.id:
        raise UserError(f"{field}: job {job} belongs to another experiment; `tunelab show {experiment.name}` lists "
                        f"the jobs of {experiment.name!r}")
    if not live_owner(experiment.owner, experiment.beat):
        raise NoEngine(f"no engine is running {experiment.name!r} (status {experiment.status}); {idle}")


def await_answer(store: st.Storage, request_id: int, wait: float) -> st.Request:
    """The request once the engine handled it, or as it is after ``wait`` seconds."""
    inbox = st.Inbox(store)
    deadline = time.monotonic() + wait
    while inbox.get(request_id).handled is None and time.monotonic() < deadline:
        time.sleep(0.2)
    return inbox.get(request_id)
