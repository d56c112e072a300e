"""The Python API: run, resume and read experiments.

Example:
    ::

        import tunelab.api as api

        def objective(config):
            return (config["x"] - 2) ** 2

        result = api.run({"name": "quad", "parameter_config": [
            {"name": "x", "type": "float", "range": [-5, 5]}], "n_samples": 20},
            objective=objective)
        print(result.best)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab import checks, proposers
from tunelab.engine import Engine, Outcome
from tunelab.exceptions import UserError
from tunelab.executors import Executor, FunctionExecutor, PassiveExecutor, ScriptExecutor, function_ref
from tunelab.results import ExperimentResult
from tunelab.spec import BUDGET_NAME_KEY, ExperimentSpec, parse_spec
from tunelab.storage import Storage, default_url

if TYPE_CHECKING:
    from tunelab.analysis import Figure


def storage_root(url: str) -> Path:
    """Folder for job folders, checkpoints and models: beside a SQLite file, else ``./.tunelab``."""
    if url.startswith("sqlite:///") and url[len("sqlite:///"):] not in ("", ":memory:"):
        return Path(url[len("sqlite:///"):]).resolve().parent
    return Path.cwd() / ".tunelab"


def executor_for(spec: ExperimentSpec) -> Executor:
    """The executor that runs ``spec``'s jobs where its ``resource`` says.

    Raises:
        UserError: the place cannot be used (a Dask scheduler out of reach, no worker).
    """
    if spec.resource == "passive":
        return PassiveExecutor()
    if spec.resource == "dask":
        try:
            from tunelab.executors.dask import connect
        except ImportError:
            raise UserError("resource: \"dask\" needs Dask; run `pip install \"tunelab[dask]\"`") from None
        args = spec.resource_args
        return connect(args.scheduler, args.cluster, args.worker_timeout, spec.n_parallel,
                       spec.runtime_args.grace_period, args.lapse, args.resources)
    if spec.function:
        return FunctionExecutor(spec.function, spec.n_parallel, spec.runtime_args.grace_period)
    return ScriptExecutor(spec.runtime_args.grace_period)


def _stopper(spec: ExperimentSpec) -> Any:
    early_stop = spec.resource_args.early_stop
    if not early_stop:
        return None
    from tunelab import stoppers

    return stoppers.from_spec(early_stop)


def _check_budget(spec: ExperimentSpec, proposer: proposers.Proposer) -> None:
    if spec.n_samples is None and spec.max_duration is None and not proposer.finite:
        hint = " (or the proposer's `iterations`)" if proposer.name in ("hyperband", "bohb") else ""
        raise UserError(f"n_samples: missing; set how many jobs to run, or `max_duration`{hint}")


def check(spec: ExperimentSpec, seed: int = 0) -> proposers.Proposer:
    """Everything ``run`` checks before recording anything: the proposer, its options and
    the budget. Returns the proposer built with ``seed``.

    Raises:
        UserError: one line naming the field, the value and the fix.
    """
    proposer = proposers.create(spec.proposer, spec.space, seed=seed, options_=proposer_options(spec))
    _check_budget(spec, proposer)
    if spec.objectives and not proposer.multi_objective:
        able = ", ".join(n for n in proposers.names() if proposers.get(n).multi_objective)
        raise UserError(f"proposer: {spec.proposer!r} optimizes one objective, but the experiment has "
                        f"{len(spec.objectives)} `objectives`; choose one of {able}")
    return proposer


def proposer_options(spec: ExperimentSpec) -> dict[str, Any]:
    """The proposer's options: ``proposer_args`` plus what it may take from the spec
    (grid counts, ``n_samples`` and ``n_parallel`` for proposers that plan by budget, and
    ``n_objectives`` for those that choose by it)."""
    options = {k: v for k, v in spec.proposer_args.items() if k != BUDGET_NAME_KEY}
    accepted = proposers.options(spec.proposer)
    if "counts" in accepted and spec.grid_counts():
        options.setdefault("counts", spec.grid_counts())
    for key in ("n_samples", "n_parallel"):
        if key in accepted:
            options.setdefault(key, getattr(spec, key))
    if "n_objectives" in accepted:
        options.setdefault("n_objectives", len(spec.objectives or ()) or 1)
    return options


def build_engine(storage: Storage, ref: str | int, *, on_change: Callable[[Engine], None] | None = None,
                 executor: Executor | None = None) -> Engine:
    """An engine for the stored experiment ``ref``, ready to run or resume, with ``executor``
    (already connected, see :func:`executor_for`) or a new one for its spec."""
    experiment = storage.experiment(ref)
    if experiment.status == "imported":
        raise UserError(f"experiment {experiment.name!r} holds imported history and cannot run; "
                        f"seed a new experiment with \"history_from\": [{experiment.name!r}]")
    spec = ExperimentSpec.model_validate(experiment.spec)
    space = spec.space
    proposer = check(spec, experiment.seed)
    search = proposers.Search(space, proposer, spec.initial_configs)
    return Engine(storage, experiment, spec, executor or executor_for(spec), search, stopper=_stopper(spec),
                  root=storage_root(storage.url), on_change=on_change)


def create(spec: ExperimentSpec | dict[str, Any], storage: Storage,
           objective: Callable[..., Any] | str | None = None) -> ExperimentSpec:
    """Validate ``spec`` and record it as a new experiment in ``storage``."""
    data = dict(spec) if isinstance(spec, dict) else spec.model_dump(exclude_none=True)
    if objective is not None:
        data.update(function=function_ref(objective), script=None, command=None)
    spec = parse_spec(data)
    seed = spec.random_seed if spec.random_seed is not None else random.SystemRandom().randrange(2**31)
    checks.before_recording(spec, check(spec, seed), storage)
    storage.create_experiment(spec.name, spec.model_dump(), seed)
    return spec


def run(spec: ExperimentSpec | dict[str, Any], *, storage: str | None = None,
        objective: Callable[..., Any] | str | None = None,
        on_change: Callable[[Engine], None] | None = None) -> ExperimentResult:
    """Create the experiment and run it to its end.

    Args:
        spec: an :class:`ExperimentSpec` or a native dict (the experiment file's keys).
        storage: database URL; default ``$TUNELAB_STORAGE`` or ``./.tunelab/tunelab.db``.
        objective: a top-level function ``config -> float | dict`` run in worker
            processes, instead of the spec's ``script``/``command``.
        on_change: called after each event (progress displays).

    Raises:
        UserError: the spec is invalid or the name is taken.
    """
    store = Storage(storage or default_url())
    try:
        created, executor = create_placed(spec, store, objective)
        build_engine(store, created.name, on_change=on_change, executor=executor).run()
        return ExperimentResult.load(store, created.name)
    finally:
        store.close()


def create_placed(spec: ExperimentSpec | dict[str, Any], storage: Storage,
                  objective: Callable[..., Any] | str | None = None) -> tuple[ExperimentSpec, Executor]:
    """:func:`create`, after making sure the jobs have somewhere to run: a scheduler out
    of reach is refused before anything is recorded."""
    data = dict(spec) if isinstance(spec, dict) else spec.model_dump(exclude_none=True)
    if objective is not None:
        data.update(function=function_ref(objective), script=None, command=None)
    executor = executor_for(parse_spec(data))
    try:
        return create(data, storage), executor
    except BaseException:
        executor.shutdown()
        raise


def resume(ref: str | int, *, storage: str | None = None,
           on_change: Callable[[Engine], None] | None = None) -> ExperimentResult:
    """Continue a stored experiment to its end; finished jobs are never run again."""
    store = Storage(storage or default_url())
    try:
        build_engine(store, ref, on_change=on_change).run()
        return ExperimentResult.load(store, ref)
    finally:
        store.close()


def load(ref: str | int, *, storage: str | None = None) -> ExperimentResult:
    """Read a stored experiment (``result.dataframe()``, ``result.best``, ``result.jobs``)."""
    store = Storage(storage or default_url())
    try:
        return ExperimentResult.load(store, ref)
    finally:
        store.close()


def plot(ref: str | int | ExperimentResult, kind: str = "history", *, storage: str | None = None) -> Figure:
    """One plot of a stored experiment (``kind``: one of :data:`tunelab.analysis.KINDS`):
    a notebook shows it as is; ``.write_html(path)`` saves it for offline use."""
    from tunelab.analysis import plot as make

    return make(ref if isinstance(ref, ExperimentResult) else load(ref, storage=storage), kind)


def compare(refs: list[str | int], *, storage: str | None = None) -> Figure:
    """Best-so-far curves of several stored experiments overlaid."""
    from tunelab.analysis import compare as make

    return make([load(ref, storage=storage) for ref in refs])


__all__ = ["ExperimentResult", "Outcome", "build_engine", "compare", "create", "load", "plot", "proposer_options",
           "resume", "run", "storage_root"]
