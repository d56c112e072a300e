"""DeepHyper's searches (``CBO``, ``AMBS``, ``RandomSearch``, ``RegularizedEvolution``)
running on tunelab's engine.

Both of DeepHyper's call forms work: the evaluator given to the search
(``CBO(problem, evaluator).search(max_evals=...)``, releases 0.3 to 0.10) or to
``search`` (``CBO(problem, log_dir=...).search(evaluator_or_run, max_evals=...)``,
releases 0.11 on). The jobs run asynchronously on the evaluator's workers through
:func:`tunelab.api.run`; then DeepHyper's ``results.csv`` is written in ``log_dir`` and
returned as a DataFrame: ``p:<name>`` per hyperparameter, ``objective`` (``"F..."`` for a
failed job), ``job_id`` (the job's number in the search), ``job_status`` (``DONE``, or
``CANCELLED`` for a job that never ended), ``m:timestamp_submit``, ``m:timestamp_gather``
(seconds since the search started), ``m:<metadata>``, and the best job so far
(``sol.p:<name>``, ``sol.objective``, DeepHyper's ``argmax_obs`` solution).
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
from tunelab.compat.deephyper.objectives import ObjectiveWatch, multi_objective_spec, objective_names
from tunelab.compat.deephyper.problem import HpProblem
from tunelab.compat.deephyper.solution import SolutionSelection
from tunelab.exceptions import UserError
from tunelab.optimizer import Optimizer
from tunelab.placement import cluster_threads, placement_from_env

if TYPE_CHECKING:
    import pandas as pd

SURROGATES = {"RF": "smac", "ET": "smac", "TB": "smac", "RS": "smac", "GBRT": "smac", "HGBRT": "smac",
              "BT": "smac", "MF": "smac", "GP": "gp", "DUMMY": "random", "TPE": "tpe"}
"""DeepHyper's ``surrogate_model`` names and the tunelab proposer that fills the same role."""

_CBO_IGNORED = ("acq_func", "acq_optimizer", "acq_optimizer_freq", "kappa", "xi", "n_points",
                "filter_duplicated", "update_prior", "update_prior_quantile", "multi_point_strategy",
                "n_jobs", "n_initial_points", "initial_point_generator", "filter_failures",
                "max_failures", "moo_lower_bounds", "moo_scalarization_strategy",
                "moo_scalarization_weight", "objective_scaler", "stopper", "checkpoint_history_to_csv",
                "acq_optimizer_kwargs", "acq_func_kwargs", "surrogate_model_kwargs", "verbose",
                "liar_strategy", "sync_communication", "scheduler", "max_failures")
_SEARCH_IGNORED = ("stopper", "checkpoint_restart")
"""Options of DeepHyper's ``Search`` that tunelab accepts with a warning (not ``None``/``False``)."""
_SOLUTIONS = (None, "argmax_obs", "argmax_est")
_SEARCH_OPTIONS = ("checkpoint_history_to_csv", "solution_selection", *_SEARCH_IGNORED)
_ENGINE_COLUMNS = {"job_id", "number", "status", "value", "budget", "attempts", "started", "ended", "duration",
                   "error", "intermediate", "intermediate_attempt", "parent_id"}


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


def _is_evaluator(value: Any) -> bool:
    return isinstance(value, Evaluator) or callable(value)


class Search:
    """Base of the searches: a problem, an optional evaluator and a log folder.

    Args:
        problem: the :class:`HpProblem`.
        evaluator: from :meth:`Evaluator.create`, or a run function (then serial); leave it
            out (DeepHyper 0.11 on) and give it to :meth:`search`. An int or a RandomState in
            this place is the ``random_state`` of the newer signature
            ``CBO(problem, random_state, log_dir, ...)``.
        random_state: an int seed or a numpy ``RandomState``.
        log_dir: where ``results.csv`` is written.
        verbose: accepted for compatibility.
        checkpoint_history_to_csv: ``False`` writes no ``results.csv``.
        solution_selection: ``"argmax_obs"`` (what the ``sol.*`` columns always hold),
            ``"argmax_est"`` (approximated by ``argmax_obs``), ``None``, or an object of
            :mod:`tunelab.compat.deephyper.solution`.
        stopper, checkpoint_restart: accepted with a warning; tunelab ignores them.
    """

    proposer = "random"

    def __init__(self, problem: HpProblem, evaluator: Evaluator | Callable[..., Any] | None = None,
                 random_state: Any = None, log_dir: str = ".", verbose: int = 0,
                 checkpoint_history_to_csv: bool = True, solution_selection: Any = None,
                 **ignored: Any) -> None:
        if not isinstance(problem, HpProblem):
            raise UserError(f"problem: expected tunelab.compat.deephyper.HpProblem, got {type(problem).__name__}")
        if evaluator is not None and not _is_evaluator(evaluator) and random_state is None:
            evaluator, random_state = None, evaluator
        self.problem = problem
        self.evaluator = None if evaluator is None else _as_evaluator(evaluator)
        self.seed = _seed(random_state)
        self.log_dir = Path(log_dir).resolve()
        self.verbose = verbose
        self.checkpoint_history_to_csv = bool(checkpoint_history_to_csv)
        if not isinstance(solution_selection, SolutionSelection) and solution_selection not in _SOLUTIONS:
            raise UserError(f"solution_selection: {solution_selection!r} is unknown; use 'argmax_obs', "
                            "'argmax_est' or ArgMaxObsSelection()/ArgMaxEstSelection(problem)")
        self.initial_points: list[dict[str, Any]] = []
        self.proposer_args: dict[str, Any] = {}
        self._optimizer: Optimizer | None = None
        _warn_ignored(type(self).__name__, ignored, _SEARCH_IGNORED)

    def _set_initial_points(self, points: list[dict[str, Any]] | None) -> None:
        """``initial_points``: configs run first, each checked against the problem."""
        for i, point in enumerate(points or []):
            self.problem.space.validate(point, where=f"initial_points[{i}]")
        self.initial_points = [dict(p) for p in points or []]

    def spec(self, max_evals: int = -1, timeout: float | None = None) -> dict[str, Any]:
        """The native tunelab spec this search runs: on tunelab's local worker processes,
        or where ``$TUNELAB_RESOURCE`` / ``$TUNELAB_SCHEDULER`` say (a Dask scheduler: then
        an evaluator whose options leave the number of workers open uses every thread of
        the cluster).

        Raises:
            UserError: no evaluator was given to the search.
        """
        evaluator = self._evaluator()
        problem = self.problem.to_spec()
        spec: dict[str, Any] = {
            "name": f"deephyper-{type(self).__name__.lower()}-{time.strftime('%Y%m%d-%H%M%S')}",
            "proposer": self.proposer,
            "parameter_config": problem["parameter_config"],
            "initial_configs": problem["initial_configs"] + self.initial_points,
            "target": "max",
            "n_parallel": evaluator.num_workers,
            "workingdir": str(self.log_dir),
            "runtime_args": {"env": evaluator.env},
            "job_failure": {"ignore_fail": True},
        }
        spec.update(placement_from_env(spec))
        scheduler = spec.get("resource_args", {}).get("scheduler")
        if scheduler and not evaluator.sized:
            spec["n_parallel"] = cluster_threads(scheduler) or evaluator.num_workers
        if self.proposer_args:
            spec["proposer_args"] = dict(self.proposer_args)
        if max_evals is not None and max_evals > 0:
            spec["n_samples"] = int(max_evals)
        if timeout is not None:
            spec["max_duration"] = timeout
        if self.seed is not None:
            spec["random_seed"] = self.seed
        return spec

    def ask(self, n_ask: int = 1) -> list[dict[str, Any]]:
        """DeepHyper's ask-and-tell interface: ``n_ask`` configurations to evaluate yourself,
        from the search's proposer (tunelab's :class:`~tunelab.optimizer.Optimizer`).

        While a worker imports an unguarded script (see ``SearchDuringImport``), whatever
        the script asks there is thrown away: random configurations are returned at once
        instead of running the proposer again in every worker.
        """
        if _evaluator.importing_user_code():
            rng = np.random.default_rng(self.seed)
            return [self.problem.space.sample(rng) for _ in range(int(n_ask))]
        return self._asker().ask(int(n_ask))

    def tell(self, results: list[tuple[dict[str, Any], Any]]) -> None:
        """Report ``(config, objective)`` pairs of asked configurations; an ``"F..."``
        objective is a failure.

        Raises:
            UserError: a configuration that was not asked, or already told.
        """
        if _evaluator.importing_user_code():
            return
        optimizer = self._asker()
        for config, objective in results:
            optimizer.tell(config, None if isinstance(objective, str) else objective)

    def _asker(self) -> Optimizer:
        if self._optimizer is None:
            self._optimizer = Optimizer(self.problem.parameter_config, proposer=self.proposer, target="max",
                                        random_seed=self.seed or 0,
                                        initial_configs=self.problem.starting_point_asdict + self.initial_points,
                                        **self.proposer_args)
        return self._optimizer

    def _evaluator(self) -> Evaluator:
        if self.evaluator is None:
            raise UserError(f"{type(self).__name__}: no evaluator; call search.search(run_or_evaluator, "
                            f"max_evals=...) or give it as {type(self).__name__}(problem, evaluator)")
        return self.evaluator

    def search(self, evaluator: Evaluator | Callable[..., Any] | int | None = None, max_evals: int = -1,
               timeout: float | None = None, max_evals_strict: bool = False) -> pd.DataFrame:
        """Run the search and return DeepHyper's results table (also in ``results.csv``).

        Args:
            evaluator: an :class:`Evaluator` or a run function (DeepHyper 0.11 on); it
                replaces the search's own. An int here is ``max_evals`` (the older
                ``search.search(100)``).
            max_evals: number of jobs; -1 runs until ``timeout``.
            timeout: seconds before the search stops.
            max_evals_strict: accepted for compatibility; tunelab never starts more than
                ``max_evals`` jobs.

        Raises:
            UserError: no evaluator, or neither ``max_evals`` nor ``timeout``.
            SearchDuringImport: a search started while a worker imports the module of
                ``run`` (a script's import stops there; see :class:`SearchDuringImport`).
        """
        from tunelab import api

        if isinstance(evaluator, (int, np.integer)) and not isinstance(evaluator, bool):
            evaluator, max_evals = None, int(evaluator)
        if evaluator is not None:
            self.evaluator = _as_evaluator(evaluator)
        if _evaluator.importing_user_code():
            raise _evaluator.SearchDuringImport("search.search(): called while a worker imports your module; put the search "
                            "under `if __name__ == \"__main__\":`")
        if (max_evals is None or max_evals < 0) and timeout is None:
            raise UserError("search.search(): max_evals=-1 and no timeout would never end; give max_evals or timeout")
        spec = self.spec(max_evals, timeout)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        started, watch = time.time(), ObjectiveWatch()
        result = api.run(spec, objective=self._evaluator().objective, on_change=watch)
        objectives = objective_names(watch.count) if watch.count else None
        if objectives:
            started = time.time()
            result = api.run(multi_objective_spec(spec, watch.count), objective=self._evaluator().objective)
        frame = results_frame(result.dataframe(), self.problem.hyperparameter_names, started, objectives)
        if self.checkpoint_history_to_csv:
            _move_old_results(self.log_dir / "results.csv")
            frame.to_csv(self.log_dir / "results.csv", index=False)
        return frame


def _warn_ignored(where: str, options: dict[str, Any], accepted: tuple[str, ...]) -> None:
    """Refuse unknown options; warn about known ones that tunelab does not use."""
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise UserError(f"{where}: {unknown[0]!r} is not an option of DeepHyper's {where}; remove it")
    used = sorted(k for k, v in options.items() if v is not None and v is not False)
    if used:
        warnings.warn(f"{where}: tunelab ignores {used}", stacklevel=3)


class CBO(Search):
    """DeepHyper's Centralized Bayesian Optimization, on a tunelab model-based proposer.

    ``surrogate_model`` picks the proposer (see :data:`SURROGATES`): RF, ET and the other
    tree ensembles run tunelab's ``smac`` (a random-forest surrogate), GP runs ``gp``.
    ``initial_points`` run first. Other DeepHyper options are accepted with a warning.

    Example:
        ::

            search = CBO(problem, log_dir="out", random_state=42)    # DeepHyper 0.11 on
            results = search.search(evaluator, max_evals=50)
            search = CBO(problem, evaluator, random_state=42)        # DeepHyper 0.4 to 0.10
            results = search.search(max_evals=50)
    """

    def __init__(self, problem: HpProblem, evaluator: Evaluator | Callable[..., Any] | None = None,
                 random_state: Any = None, log_dir: str = ".", verbose: int = 0,
                 surrogate_model: str = "RF", initial_points: list[dict[str, Any]] | None = None,
                 **kwargs: Any) -> None:
        search_options = {k: kwargs.pop(k) for k in list(kwargs) if k in _SEARCH_OPTIONS}
        super().__init__(problem, evaluator, random_state=random_state, log_dir=log_dir, verbose=verbose,
                         **search_options)
        key = str(surrogate_model).upper()
        if key not in SURROGATES:
            raise UserError(f"CBO: surrogate_model {surrogate_model!r} is unknown; use one of {', '.join(SURROGATES)}")
        self.proposer = SURROGATES[key]
        self._set_initial_points(initial_points)
        unknown = sorted(set(kwargs) - set(_CBO_IGNORED))
        if unknown:
            raise UserError(f"CBO: {unknown[0]!r} is not an option of DeepHyper's CBO; remove it")
        if kwargs:
            warnings.warn(f"CBO: tunelab's {self.proposer!r} proposer ignores {sorted(kwargs)}", stacklevel=2)


AMBS = CBO
"""DeepHyper 0.3 to 0.6: Asynchronous Model-Based Search, the earlier name of :class:`CBO`."""


class RandomSearch(Search):
    """DeepHyper's random search: tunelab's ``random`` proposer."""


class RegularizedEvolution(Search):
    """DeepHyper's regularized (aging) evolution: tunelab's ``evolution`` proposer with the
    same ``population_size`` and ``sample_size`` (DeepHyper's defaults 100 and 10)."""

    proposer = "evolution"

    def __init__(self, problem: HpProblem, evaluator: Evaluator | Callable[..., Any] | None = None,
                 random_state: Any = None, log_dir: str = ".", verbose: int = 0,
                 population_size: int = 100, sample_size: int = 10, **kwargs: Any) -> None:
        super().__init__(problem, evaluator, random_state=random_state, log_dir=log_dir, verbose=verbose,
                         **kwargs)
        self.proposer_args = {"population_size": population_size, "sample_size": sample_size}


_DESIGNS = {"random": ("random", None), "sobol": ("qmc", "sobol"), "halton": ("qmc", "halton"),
            "hammersly": ("qmc", "halton"), "lhs": ("qmc", "lhs")}
"""DeepHyper's ``design`` names and the tunelab proposer (and ``qmc`` method) that draws them."""


class ExperimentalDesignSearch(Search):
    """DeepHyper's experimental design (DeepHyper 0.8 on): ``n_points`` points of a
    ``design``, tunelab's ``random`` or ``qmc`` proposer (``hammersly`` is drawn as Halton,
    its close relative; ``grid`` is refused: tunelab's grid needs a count per parameter).

    Raises:
        UserError: no ``n_points``, or a design tunelab does not draw.
    """

    def __init__(self, problem: HpProblem, evaluator: Evaluator | Callable[..., Any] | None = None,
                 random_state: Any = None, log_dir: str = ".", verbose: int = 0,
                 n_points: int | None = None, design: str = "random",
                 initial_points: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(problem, evaluator, random_state=random_state, log_dir=log_dir, verbose=verbose,
                         **kwargs)
        if n_points is None:
            raise UserError("ExperimentalDesignSearch: n_points is required; give n_points=max_evals")
        if design not in _DESIGNS:
            raise UserError(f"ExperimentalDesignSearch: design {design!r} is not supported; use one of "
                            f"{', '.join(_DESIGNS)}")
        self.proposer, method = _DESIGNS[design]
        self.proposer_args = {"method": method} if method else {}
        self._set_initial_points(initial_points)


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


def _has_value(row: pd.Series, column: str = "value") -> bool:
    return row.get("status") in ("finished", "stopped") and row.get(column) is not None and not _missing(row[column])


def _status(row: pd.Series) -> str:
    """DeepHyper's ``job_status``: DONE for ended jobs (failures included), else CANCELLED."""
    return "DONE" if row.get("status") == "failed" or _has_value(row) else "CANCELLED"


def _objective(row: pd.Series, column: str = "value") -> Any:
    """The value in ``column``, or DeepHyper's failure string (``"F"``, the ``"F..."`` run
    returned, ``"F_CANCELLED"``)."""
    if _has_value(row, column):
        return row[column]
    if row.get("status") != "failed":
        return "F_CANCELLED"
    error = row.get("error")
    message = error.removeprefix("JobFailed: ") if isinstance(error, str) else ""
    return message if message.startswith("F") else "F"


def _missing(value: Any) -> bool:
    return isinstance(value, float) and np.isnan(value)


def results_frame(jobs: pd.DataFrame, names: list[str], started: float,
                  objectives: list[str] | None = None) -> pd.DataFrame:
    """DeepHyper's ``results.csv`` table from tunelab's job table.

    With several ``objectives``, each has its column (``objective_0``, ... with the
    ``"F..."`` string of a failed job in each), ``pareto_efficient`` says whether the job
    is on the Pareto front, and there are no ``sol.*`` columns, as in DeepHyper.

    Args:
        jobs: :meth:`ExperimentResult.dataframe` (``number``, ``status``, ``value``, one
            column per parameter, ``started``, ``ended``, ``error``, extra values).
        names: the hyperparameter names (their ``p:`` columns come in name order, as DeepHyper's).
        started: when the search started (seconds since the epoch).
        objectives: the objectives' columns of a multi-objective search.
    """
    import pandas as pd

    jobs = jobs.sort_values("number").reset_index(drop=True)
    out = pd.DataFrame(index=jobs.index)
    for name in sorted(names):  # DeepHyper's ConfigSpace lists hyperparameters by name
        out[f"p:{name}"] = jobs.get(name)
    rows = [row for _i, row in jobs.iterrows()]
    for name in objectives or ["objective"]:
        out[name] = [_objective(row, name if objectives else "value") for row in rows]
    out["job_id"] = jobs["number"]
    out["job_status"] = [_status(row) for row in rows]
    out["m:timestamp_submit"] = _seconds(jobs["started"], started)
    out["m:timestamp_gather"] = _seconds(jobs["ended"], started)
    skip = {*_ENGINE_COLUMNS, *names, *(objectives or []), "pareto"}
    for column in jobs.columns:
        if column not in skip:
            out[f"m:{column}"] = jobs[column]
    if objectives:
        out["pareto_efficient"] = jobs["pareto"].astype(bool)
    else:
        _add_solutions(out, names)
    return out


def _add_solutions(out: pd.DataFrame, names: list[str]) -> None:
    """DeepHyper's ``argmax_obs`` solution columns: on each row, the best job up to it
    (the later one on a tie), or nothing before the first job with a value."""
    best: int | None = None
    chosen: list[int | None] = []
    objectives = out["objective"].tolist()
    for i, objective in enumerate(objectives):
        if not isinstance(objective, str) and not _missing(objective) and \
                (best is None or objective >= objectives[best]):
            best = i
        chosen.append(best)
    for name in sorted(names):
        column = out[f"p:{name}"].tolist()
        out[f"sol.p:{name}"] = [None if b is None else column[b] for b in chosen]
    out["sol.objective"] = [None if b is None else objectives[b] for b in chosen]


__all__ = ["AMBS", "CBO", "SURROGATES", "ExperimentalDesignSearch", "RandomSearch", "RegularizedEvolution", "Search",
           "results_frame"]
