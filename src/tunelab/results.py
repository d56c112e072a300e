"""Read-only views of a stored experiment: the best job, tables, JSON and DataFrames."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunelab import storage as st
from tunelab.objectives import losses_of
from tunelab.pareto import front_mask

if TYPE_CHECKING:
    import pandas as pd


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _column(name: str, row: dict[str, Any], prefix: str) -> str:
    return f"{prefix}{name}" if name in row or name in _RESERVED else name


_RESERVED = ("intermediate",)


def curve_attempt(job: st.Job) -> int | None:
    """The number of the attempt whose intermediate values are the job's curve (the one
    that counts), or None for values recorded before schema v2."""
    return next((a.number for a in job.attempts if a.id == job.attempt_id), None)


def job_dict(job: st.Job) -> dict[str, Any]:
    """One job in the documented ``show --json`` form."""
    return {
        "id": job.id,
        "number": job.number,
        "status": job.status,
        "config": job.config,
        "result": _clean(job.value),
        "extra_results": job.extra,
        "objectives": job.objectives,
        "intermediate": [[step, value] for step, value in job.intermediate],
        "intermediate_attempt": curve_attempt(job),
        "budget": job.budget,
        "parent_id": job.parent_id,
        "error": job.error,
        "info": job.info,
        "attempts": [
            {"number": a.number, "status": a.status, "error": a.error, "resource": a.resource,
             "host": a.host, "started": a.started, "ended": a.ended, "folder": a.folder,
             "intermediate": [[step, value] for step, value in a.intermediate]}
            for a in job.attempts
        ],
    }


@dataclass
class ExperimentResult:
    """An experiment and its jobs, as stored.

    Example:
        >>> # result = tunelab.api.run(spec); result.best["config"]; result.dataframe()
    """

    experiment: st.Experiment
    jobs: list[st.Job]

    @classmethod
    def load(cls, storage: st.Storage, ref: str | int) -> ExperimentResult:
        """Read experiment ``ref`` (name or id) from ``storage``."""
        experiment = storage.experiment(ref)
        return cls(experiment, storage.jobs(experiment.id))

    @property
    def search_jobs(self) -> list[st.Job]:
        """Jobs of the search itself (without the final save-model run)."""
        return [j for j in self.jobs if not j.info.get("save_model")]

    @property
    def objectives(self) -> list[tuple[str, str]]:
        """``(name, target)`` of each objective when the experiment has several, else empty."""
        return [(o["name"], o.get("target", "min")) for o in self.experiment.spec.get("objectives") or []]

    @property
    def front(self) -> list[st.Job]:
        """The Pareto front: finished jobs no other finished job dominates (in job order).
        Empty for a single-objective experiment."""
        names = [name for name, _ in self.objectives]
        signs = [-1.0 if target == "max" else 1.0 for _, target in self.objectives]
        scored = [(j, losses_of(j.objectives, names, signs)) for j in self.search_jobs if j.status == st.FINISHED]
        scored = [(j, losses) for j, losses in scored if losses is not None]
        if not scored:
            return []
        mask = front_mask([losses for _, losses in scored])
        return [j for (j, _), keep in zip(scored, mask, strict=True) if keep]

    @property
    def best_job(self) -> st.Job | None:
        """The finished job with the best value for the experiment's target (None with
        several objectives: see :attr:`front`)."""
        if self.objectives:
            return None
        sign = -1.0 if self.experiment.spec.get("target") == "max" else 1.0
        finished = [j for j in self.search_jobs if j.status == st.FINISHED and j.value is not None]
        return min(finished, key=lambda j: sign * j.value) if finished else None

    @property
    def best(self) -> dict[str, Any] | None:
        """``{"job_id", "config", "result", "extra_results"}`` of the best job, or None."""
        job = self.best_job
        if job is None:
            return None
        return {"job_id": job.id, "config": job.config, "result": job.value, "extra_results": job.extra}

    @property
    def model_dir(self) -> str | None:
        """Folder of the saved best model, when ``save_model`` ran."""
        saved = [j for j in self.jobs if j.info.get("save_model") and j.status == st.FINISHED]
        return saved[-1].info.get("model_dir") if saved else None

    def to_dict(self) -> dict[str, Any]:
        """The documented machine form of ``tunelab show --json``."""
        e = self.experiment
        front = {j.id for j in self.front}
        return {
            "experiment": {"id": e.id, "name": e.name, "status": e.status, "message": e.message,
                           "seed": e.seed, "created": e.created, "updated": e.updated, "spec": e.spec},
            "best": self.best,
            "pareto_front": sorted(front),
            "model_dir": self.model_dir,
            "jobs": [{**job_dict(j), "pareto": j.id in front} for j in self.jobs],
        }

    def rows(self) -> list[dict[str, Any]]:
        """One flat dict per job: ids, status, value, parent, parameters, extra results, timing.

        A parameter or extra result named like a fixed column (``status``, ``budget``...)
        gets the prefix ``config.`` or ``extra.`` instead of replacing it. With several
        objectives, each has a column (prefix ``objective.`` on a clash) and ``pareto``
        says whether the job is on the front.
        """
        names = [p["name"] for p in self.experiment.spec.get("parameter_config", [])]
        labels = sorted({k for j in self.jobs for k in j.extra})
        objectives = [name for name, _ in self.objectives]
        front = {j.id for j in self.front}
        rows = []
        for job in self.jobs:
            first = job.attempts[0].started if job.attempts else None
            last = job.attempts[-1].ended if job.attempts else None
            row: dict[str, Any] = {"job_id": job.id, "number": job.number, "status": job.status,
                                   "value": _clean(job.value), "budget": job.budget, "parent_id": job.parent_id,
                                   "attempts": len(job.attempts),
                                   "started": first, "ended": last,
                                   "duration": (last - first) if first and last else None, "error": job.error}
            if objectives:
                row["pareto"] = job.id in front
                for name in objectives:
                    row[_column(name, row, "objective.")] = (job.objectives or {}).get(name)
            keys = names + [k for k in job.config if k not in names]
            for key in keys:
                row[_column(key, row, "config.")] = job.config.get(key)
            for label in labels:
                row[_column(label, row, "extra.")] = job.extra.get(label)
            rows.append(row)
        return rows

    def dataframe(self) -> pd.DataFrame:
        """The jobs as a pandas DataFrame (one row per job), with intermediate values as lists
        and the number of the attempt they come from."""
        import pandas as pd

        frame = pd.DataFrame(self.rows())
        if len(frame):
            frame["intermediate"] = [[list(p) for p in j.intermediate] for j in self.jobs]
            frame["intermediate_attempt"] = [curve_attempt(j) for j in self.jobs]
        return frame

    def to_csv(self) -> str:
        """The jobs as CSV text (``rows()``)."""
        rows = self.rows()
        out = io.StringIO()
        if rows:
            fields = list(dict.fromkeys(k for r in rows for k in r))
            writer = csv.DictWriter(out, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        return out.getvalue()

    def to_json(self) -> str:
        """The documented JSON form, as text."""
        return json.dumps(self.to_dict(), indent=2, default=str)
