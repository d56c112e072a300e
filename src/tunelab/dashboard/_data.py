"""What the dashboard's JSON API answers, read from storage only (never from the engine).

Each experiment page keeps a copy of the experiment's jobs here, caught up through the
storage's change cursor (:meth:`tunelab.storage.Storage.changes`), so a live page costs
O(changes) in the database however many jobs the experiment has; plots are computed by
:mod:`tunelab.analysis` and cached until the experiment changes.
"""

from __future__ import annotations

import importlib
import math
import threading
import time
from pathlib import Path
from typing import Any

from tunelab import analysis
from tunelab import storage as st
from tunelab._owner import live_owner
from tunelab.control import ask_score, ask_stop
from tunelab.results import ExperimentResult, job_dict

TAIL_BYTES = 16_384
"""How much of the end of a job's stdout and stderr the job view shows."""

MIN_AGE = {"importance": 10.0}
"""Seconds a plot is kept however much the experiment changed: fitting a forest at every
finished job of a busy experiment would keep a core busy for a page."""


class _Live:
    """An experiment's jobs as of ``rev``, caught up on demand."""

    def __init__(self) -> None:
        self.rev = -1
        self.jobs: dict[int, st.Job] = {}
        self.lock = threading.Lock()
        self.plots: dict[str, tuple[int, float, dict[str, Any]]] = {}


def job_row(job: st.Job) -> dict[str, Any]:
    """One line of the page's job table: flat, small, everything it sorts and filters by."""
    last = job.attempts[-1] if job.attempts else None
    started = job.attempts[0].started if job.attempts else None
    ended = job.ended or (last.ended if last else None)
    return {"id": job.id, "number": job.number, "status": job.status, "config": job.config,
            "value": _finite(job.value), "extra": job.extra, "budget": job.budget,
            "duration": (ended - started) if started and ended else None, "started": started,
            "attempts": len(job.attempts), "host": last.host if last else None,
            "slot": last.resource.get("slot") if last else None,
            "error": (job.error or "")[:300] or None, "save_model": bool(job.info.get("save_model"))}


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _tail(folder: str | None, name: str) -> str | None:
    if not folder:
        return None
    path = Path(folder) / name
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - TAIL_BYTES))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return None


class DashboardData:
    """The dashboard's view of one storage; safe to use from the server's threads."""

    def __init__(self, storage: st.Storage) -> None:
        self.storage = storage
        self._live: dict[int, _Live] = {}
        self._summaries: dict[int, tuple[int, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        # scikit-learn takes seconds to import: do it now, so the first importance plot is quick.
        threading.Thread(target=importlib.import_module, args=("sklearn.ensemble",), daemon=True).start()

    # Experiments -------------------------------------------------------------------------
    def experiments(self) -> list[dict[str, Any]]:
        """One summary per experiment, newest first; an experiment's jobs are re-read only
        when it changed."""
        out = []
        for exp in reversed(self.storage.experiments()):
            cached = self._summaries.get(exp.id)
            if cached is None or cached[0] != exp.rev:
                cached = (exp.rev, self._summary(exp))
                self._summaries[exp.id] = cached
            out.append({**cached[1], **self._header(exp)})
        return out

    def _summary(self, exp: st.Experiment) -> dict[str, Any]:
        result = ExperimentResult(exp, self.storage.jobs(exp.id, details=False))
        counts: dict[str, int] = {}
        for job in result.search_jobs:
            counts[job.status] = counts.get(job.status, 0) + 1
        best = result.best
        touched = max((j.ended or j.created for j in result.jobs), default=exp.updated)
        return {"counts": counts, "jobs": len(result.search_jobs), "best": best["result"] if best else None,
                "touched": max(touched, exp.updated)}

    def _header(self, exp: st.Experiment) -> dict[str, Any]:
        spec = exp.spec
        return {"id": exp.id, "name": exp.name, "status": exp.status, "message": exp.message, "rev": exp.rev,
                "created": exp.created, "updated": exp.updated, "engine": live_owner(exp.owner, exp.beat),
                "proposer": spec.get("proposer"), "budget": spec.get("n_samples"), "target": spec.get("target", "min"),
                "max_duration": spec.get("max_duration")}

    def experiment(self, experiment_id: int) -> dict[str, Any]:
        """The experiment page's header: status, engine, budget, best job, parameters."""
        exp = self.storage.experiment(experiment_id)
        result = self._result(exp)
        best = result.best
        return {**self._header(exp), "best": best, "parameters": [p["name"] for p in analysis.parameters(result)],
                "extra": sorted({k for j in result.jobs for k in j.extra}), "spec": exp.spec}

    # Jobs --------------------------------------------------------------------------------
    def _caught_up(self, experiment_id: int) -> _Live:
        with self._lock:
            live = self._live.setdefault(experiment_id, _Live())
        with live.lock:
            if live.rev < 0:
                live.rev = self.storage.experiment(experiment_id).rev
                live.jobs = {j.id: j for j in self.storage.jobs(experiment_id)}
            else:
                live.rev, changed = self.storage.changes(experiment_id, live.rev)
                live.jobs.update((j.id, j) for j in changed)
        return live

    def _result(self, exp: st.Experiment) -> ExperimentResult:
        live = self._caught_up(exp.id)
        with live.lock:
            jobs = sorted(live.jobs.values(), key=lambda j: j.number)
        return ExperimentResult(exp, jobs)

    def jobs(self, experiment_id: int) -> dict[str, Any]:
        """Every job of the experiment as table rows, with the ``rev`` they are as of."""
        live = self._caught_up(experiment_id)
        with live.lock:
            rows = [job_row(j) for j in sorted(live.jobs.values(), key=lambda j: j.number)]
            return {"rev": live.rev, "jobs": rows}

    def changes(self, experiment_id: int, after: int) -> dict[str, Any]:
        """The header and the rows changed since ``after``: one update of a live page."""
        exp = self.storage.experiment(experiment_id)
        rev, changed = self.storage.changes(experiment_id, after)
        return {"rev": rev, "experiment": self._header(exp), "jobs": [job_row(j) for j in changed]}

    def job(self, job_id: int) -> dict[str, Any]:
        """One job in full, with the tails of its latest attempt's stdout and stderr (read
        from the folder storage recorded for it: the request only names the job)."""
        job = self.storage.job(job_id)
        folder = job.attempts[-1].folder if job.attempts else None
        passive = self.storage.experiment(job.experiment_id).spec.get("resource") == "passive"
        return {**job_dict(job), "row": job_row(job), "stdout": _tail(folder, "stdout"),
                "stderr": _tail(folder, "stderr"), "takes_score": passive and job.status == st.RUNNING}

    # Plots -------------------------------------------------------------------------------
    def plot(self, experiment_id: int, kind: str) -> dict[str, Any]:
        """The ECharts option of one plot, recomputed only when the experiment changed."""
        exp = self.storage.experiment(experiment_id)
        live = self._caught_up(experiment_id)
        rev, made, option = live.plots.get(kind, (-1, 0.0, {}))
        fresh = rev == live.rev and kind != "timeline"  # a running job's bar grows with the clock
        if fresh or time.monotonic() - made < MIN_AGE.get(kind, 0.0):
            return option
        option = analysis.plot(self._result(exp), kind).option
        live.plots[kind] = (live.rev, time.monotonic(), option)
        return option

    def compare(self, experiment_ids: list[int]) -> dict[str, Any]:
        """Best-so-far curves of several experiments overlaid."""
        results = [self._result(self.storage.experiment(i)) for i in experiment_ids]
        return analysis.compare(results).option

    # Requests ----------------------------------------------------------------------------
    def stop(self, experiment_id: int, job_id: int | None, cancel: bool) -> int:
        """Ask the experiment's engine to stop it or one job; the request id.

        Raises:
            tunelab.control.NoEngine: no engine runs the experiment.
        """
        return ask_stop(self.storage, self.storage.experiment(experiment_id), job_id, cancel)

    def score(self, job_id: int, value: float) -> int:
        """Send a waiting ``passive`` job's score to the experiment's engine; the request id.

        Raises:
            tunelab.control.NoEngine: no engine runs the experiment.
        """
        job = self.storage.job(job_id)
        return ask_score(self.storage, self.storage.experiment(job.experiment_id), job_id, value)

    def request(self, request_id: int) -> dict[str, Any]:
        """What became of a request: handled or not, and the engine's answer."""
        request = st.Inbox(self.storage).get(request_id)
        return {"id": request.id, "kind": request.kind, "handled": request.handled is not None,
                "outcome": request.outcome}
