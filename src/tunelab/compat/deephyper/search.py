"""DeepHyper's searches (``CBO``, ``RandomSearch``) running on tunelab's engine.

``search.search(max_evals=...)`` runs the jobs asynchronously on the evaluator's workers
through :func:`tunelab.api.run`, then writes DeepHyper's ``results.csv`` in ``log_dir``
and returns it as a DataFrame: ``p:<name>`` per hyperparameter, ``objective`` (``"F..."``
for a failed job), ``job_id`` (the job's number in the search), ``job_status`` (``DONE``,
or ``CANCELLED`` for a job that never ended), ``m:timestamp_submit``,
``m:timestamp_gather`` (seconds since the search started) and ``m:<metadata>``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tunelab.compat.deephyper import evaluator as _evaluator
from tunelab.compat.deephyper.evaluator import Evaluator
from tunelab.compat.deephyper.problem import HpProblem
from tunelab.exceptions import UserError

if TYPE_CHECKING:
    import pandas as pd

SURROGATES = {"RF": "smac", "ET": "smac", "GBRT": "smac", "HGBRT": "smac", "BT": "smac", "MF": "smac",
              "GP": "gp", "DUMMY": "random", "TPE": "tpe"}
"""DeepHyper's ``surrogate_model`` names and the tunelab proposer that fills the same role."""

_CBO_IGNORED = ("acq_func", "acq_optimizer", "acq_optimizer_freq", "kappa", "xi", "n_points",
                "filter_duplicated", "update_prior", "update_prior_quantile", "multi_point_strategy",
                "n_jobs", "n_initial_points", "initial_point_generator", "filter_failures",
                "max_failures", "moo_lower_bounds", "moo_scalarization_strategy",
                "moo_scalarization_weight", "objective_scaler", "stopper", "checkpoint_history_to_csv",
                "acq_optimizer_kwargs", "acq_func_kwargs", "surrogate_model_kwargs", "verbose")
_ENGINE_COLUMNS = {"job_id", "number", "status", "value", "budget", "attempts", "started", "ended", "duration",
                   "error", "intermediate", "intermediate_attempt"}


def _seed(random_state: Any) -> int | None:
    if random_state is None:
        return None
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    raise UserError(f"random_state: expected an int or a numpy RandomState, got {random_state!r}")


def _as_evaluator(evaluator: Evaluator | Callable[..., Any]) -> Evaluator:
    if isinstance(evaluator, Evaluator):
        return evaluator
    if callable(evaluator):
        return Evaluator.create(evaluator, method="serial")
    raise UserError(f"evaluator: expected Evaluator.create(run, ...) or a run function, got {evaluator!r}")


class Search:
    """Base of the searches: a problem, an evaluator and a log folder.

    Args:
        problem: the :class:`HpProblem`.
        evaluator: from :meth:`Evaluator.create`, or a run function (then serial).
        random_state: an int seed or a numpy ``RandomState``.
        log_dir: where ``results.csv`` is written.
        verbose: accepted for compatibility.
    """

    proposer = "random"

    def __init__(self, problem: HpProblem, evaluator: Evaluator | Callable[..., Any],
                 random_state: Any = None, log_dir: str = ".", verbose: int = 0) -> None:
        if not isinstance(problem, HpProblem):
            raise UserError(f"problem: expected tunelab.compat.deephyper.HpProblem, got {type(problem).__name__}")
        self.problem = problem
        self.evaluator = _as_evaluator(evaluator)
        self.seed = _seed(random_state)
        self.log_dir = Path(log_dir).resolve()
        self.verbose = verbose
        self.initial_points: list[dict[str, Any]] = []

    def spec(self, max_evals: int = -1, timeout: float | None = None) -> dict[str, Any]:
        """The native tunelab spec this search runs."""
        problem = self.problem.to_spec()
        spec: dict[str, Any] = {
            "name": f"deephyper-{type(self).__name__.lower()}-{time.strftime('%Y%m%d-%H%M%S')}",
            "proposer": self.proposer,
            "parameter_config": problem["parameter_config"],
            "initial_configs": problem["initial_configs"] + self.initial_points,
            "target": "max",
            "n_parallel": self.evaluator.num_workers,
            "workingdir": str(self.log_dir),
            "runtime_args": {"env": self.evaluator.env},
            "job_failure": {"ignore_fail": True},
        }
        if max_evals is not None and max_evals > 0:
            spec["n_samples"] = int(max_evals)
        if timeout is not None:
            spec["max_duration"] = timeout
        if self.seed is not None:
            spec["random_seed"] = self.seed
        return spec

    def search(self, max_evals: int = -1, timeout: float | None = None,
               max_evals_strict: bool = False) -> pd.DataFrame:
        """Run the search and return DeepHyper's results table (also in ``results.csv``).

        Args:
            max_evals: number of jobs; -1 runs until ``timeout``.
            timeout: seconds before the search stops.
            max_evals_strict: accepted for compatibility; tunelab never starts more than
                ``max_evals`` jobs.

        Raises:
            UserError: neither ``max_evals`` nor ``timeout``, or a search started while
                tunelab imports the module of ``run`` (guard it with ``if __name__ == "__main__":``).
        """
        from tunelab import api

        if _evaluator.importing_user_code():
            raise UserError("search.search(): called while a worker imports your module; put the search "
                            "under `if __name__ == \"__main__\":`")
        if (max_evals is None or max_evals < 0) and timeout is None:
            raise UserError("search.search(): max_evals=-1 and no timeout would never end; give max_evals or timeout")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        _move_old_results(self.log_dir / "results.csv")
        started = time.time()
        result = api.run(self.spec(max_evals, timeout), objective=self.evaluator.objective)
        frame = results_frame(result.dataframe(), self.problem.hyperparameter_names, started)
        frame.to_csv(self.log_dir / "results.csv", index=False)
        return frame


class CBO(Search):
    """DeepHyper's Centralized Bayesian Optimization, on a tunelab model-based proposer.

    ``surrogate_model`` picks the proposer (see :data:`SURROGATES`): RF and the other
    tree ensembles run tunelab's ``smac`` (a random-forest surrogate), GP runs ``gp``.
    ``initial_points`` run first. Other DeepHyper options are accepted with a warning.

    Example:
        ::

            search = CBO(problem, evaluator, surrogate_model="RF", random_state=42)
            results = search.search(max_evals=50)
    """

    def __init__(self, problem: HpProblem, evaluator: Evaluator | Callable[..., Any],
                 random_state: Any = None, log_dir: str = ".", verbose: int = 0,
                 surrogate_model: str = "RF", initial_points: list[dict[str, Any]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(problem, evaluator, random_state=random_state, log_dir=log_dir, verbose=verbose)
        key = str(surrogate_model).upper()
        if key not in SURROGATES:
            raise UserError(f"CBO: surrogate_model {surrogate_model!r} is unknown; use one of {', '.join(SURROGATES)}")
        self.proposer = SURROGATES[key]
        for i, point in enumerate(initial_points or []):
            self.problem.space.validate(point, where=f"initial_points[{i}]")
        self.initial_points = [dict(p) for p in initial_points or []]
        unknown = sorted(set(kwargs) - set(_CBO_IGNORED))
        if unknown:
            raise UserError(f"CBO: {unknown[0]!r} is not an option of DeepHyper's CBO; remove it")
        if kwargs:
            warnings.warn(f"CBO: tunelab's {self.proposer!r} proposer ignores {sorted(kwargs)}", stacklevel=2)


class RandomSearch(Search):
    """DeepHyper's random search: tunelab's ``random`` proposer."""


def _move_old_results(path: Path) -> None:
    """Keep an earlier ``results.csv`` as ``results_<time>.csv``, as DeepHyper does."""
    if path.exists():
        path.rename(path.with_name(f"results_{time.strftime('%Y%m%d-%H%M%S')}.csv"))


def _seconds(column: pd.Series, since: float) -> pd.Series:
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column):
        return column.astype(float) - since
    moments = pd.to_datetime(column, utc=True)
    return (moments - pd.Timestamp(since, unit="s", tz="UTC")).dt.total_seconds()


def _has_value(row: pd.Series) -> bool:
    return row.get("status") in ("finished", "stopped") and row.get("value") is not None and not _missing(row["value"])


def _status(row: pd.Series) -> str:
    """DeepHyper's ``job_status``: DONE for ended jobs (failures included), else CANCELLED."""
    return "DONE" if row.get("status") == "failed" or _has_value(row) else "CANCELLED"


def _objective(row: pd.Series) -> Any:
    """The value, or DeepHyper's failure string (``"F"``, the ``"F..."`` run returned, ``"F_CANCELLED"``)."""
    if _has_value(row):
        return row["value"]
    if row.get("status") != "failed":
        return "F_CANCELLED"
    error = row.get("error")
    message = error.removeprefix("JobFailed: ") if isinstance(error, str) else ""
    return message if message.startswith("F") else "F"


def _missing(value: Any) -> bool:
    return isinstance(value, float) and np.isnan(value)


def results_frame(jobs: pd.DataFrame, names: list[str], started: float) -> pd.DataFrame:
    """DeepHyper's ``results.csv`` table from tunelab's job table.

    Args:
        jobs: :meth:`ExperimentResult.dataframe` (``number``, ``status``, ``value``, one
            column per parameter, ``started``, ``ended``, ``error``, extra values).
        names: the hyperparameter names, in the problem's order.
        started: when the search started (seconds since the epoch).
    """
    import pandas as pd

    jobs = jobs.sort_values("number").reset_index(drop=True)
    out = pd.DataFrame(index=jobs.index)
    for name in names:
        out[f"p:{name}"] = jobs.get(name)
    rows = [row for _i, row in jobs.iterrows()]
    out["objective"] = [_objective(row) for row in rows]
    out["job_id"] = jobs["number"]
    out["job_status"] = [_status(row) for row in rows]
    out["m:timestamp_submit"] = _seconds(jobs["started"], started)
    out["m:timestamp_gather"] = _seconds(jobs["ended"], started)
    for column in jobs.columns:
        if column not in _ENGINE_COLUMNS and column not in names:
            out[f"m:{column}"] = jobs[column]
    return out


__all__ = ["CBO", "SURROGATES", "RandomSearch", "Search", "results_frame"]
