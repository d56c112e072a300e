"""``tunelab run`` and ``tunelab resume``."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tunelab.cli._common import StorageOption, open_storage
from tunelab.cli._progress import Progress
from tunelab.exceptions import UserError
from tunelab.placement import RESOURCE_ENV, SCHEDULER_ENV, option_name, placement
from tunelab.results import ExperimentResult

if TYPE_CHECKING:
    from tunelab.engine import Outcome
    from tunelab.executors import Executor

app = typer.Typer()


def _finish(storage_url: str | None, name: str, outcome: Outcome) -> None:
    store = open_storage(storage_url)
    try:
        result = ExperimentResult.load(store, name)
    finally:
        store.close()
    typer.echo(outcome.message)
    if result.best:
        typer.echo(f"best config: {result.best['config']}")
    if result.model_dir:
        typer.echo(f"model saved in {result.model_dir}")
    if outcome.status == "failed":
        raise typer.Exit(1)
    if outcome.status == "interrupted":
        raise typer.Exit(130)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while the experiment runs.

    Batch schedulers, ``kill`` and container runtimes stop a process with SIGTERM; taking
    it as an interruption lets the coordinator cancel its jobs and record them, so
    ``tunelab resume`` continues from a clean state instead of recovering after a crash.
    """
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _execute(storage_url: str | None, name: str, live: bool | None, executor: Executor | None = None) -> None:
    from tunelab import api

    store = open_storage(storage_url)
    try:
        with _sigterm_interrupts(), Progress(live) as progress:
            outcome = api.build_engine(store, name, on_change=progress, executor=executor).run()
    finally:
        store.close()
    _finish(storage_url, name, outcome)


@app.command()
def run(
    experiment: Annotated[Path, typer.Argument(help="Experiment file: JSON, YAML or TOML (native, Auptimizer, NNI).")],
    storage: StorageOption = None,
    name: Annotated[str | None, typer.Option(help="Override the experiment's name.")] = None,
    proposer: Annotated[str | None, typer.Option(help="Override the proposer.")] = None,
    n_samples: Annotated[int | None, typer.Option("--n-samples", help="Override n_samples.")] = None,
    n_parallel: Annotated[int | None, typer.Option("--n-parallel", help="Override n_parallel.")] = None,
    seed: Annotated[int | None, typer.Option(help="Override random_seed.")] = None,
    live: Annotated[bool | None, typer.Option("--live/--plain", help="Live display or plain lines.")] = None,
    run_function: Annotated[str | None, typer.Option(
        "--run", help="With a DeepHyper problem file (.py): the run function, module:function or file.py:function.")
    ] = None,
    resource: Annotated[str | None, typer.Option(
        envvar=RESOURCE_ENV, help="Override the resource: cpu, gpu, passive or dask.")] = None,
    scheduler: Annotated[str | None, typer.Option(
        envvar=SCHEDULER_ENV,
        help="Run on the Dask scheduler at this address (tcp://host:8786); implies --resource dask.")] = None,
) -> None:
    """Run an experiment file to its end (Ctrl-C or SIGTERM stops cleanly; `tunelab resume` goes on)."""
    from tunelab import api
    from tunelab.loader import load_experiment
    from tunelab.spec import parse_spec, resolve_paths

    overrides = {k: v for k, v in {"name": name, "proposer": proposer, "n_samples": n_samples,
                                   "n_parallel": n_parallel, "random_seed": seed}.items() if v is not None}
    if experiment.suffix == ".py":
        from tunelab.executors import function_ref
        from tunelab.formats.deephyper import spec_from_problem_file

        if not run_function:
            raise UserError(f"--run: {experiment.name} is a Python problem file; name its run function with "
                            f"--run module:function")
        data, objective = spec_from_problem_file(experiment, run_function)
        data["function"] = function_ref(objective)
    elif run_function:
        raise UserError(f"--run: only a DeepHyper problem file (.py) takes --run, got {experiment.name}")
    else:
        data = load_experiment(experiment).model_dump(exclude_none=True)
    data = {**data, **overrides, **placement(data, resource, scheduler, names=(
        option_name("--resource", RESOURCE_ENV, resource), option_name("--scheduler", SCHEDULER_ENV, scheduler)))}
    spec = resolve_paths(parse_spec(data), experiment.resolve().parent)
    store = open_storage(storage)
    try:
        _, executor = api.create_placed(spec, store)
    finally:
        store.close()
    _execute(storage, spec.name, live, executor)


@app.command()
def resume(
    experiment: Annotated[str, typer.Argument(help="Experiment name or id.")],
    storage: StorageOption = None,
    live: Annotated[bool | None, typer.Option("--live/--plain", help="Live display or plain lines.")] = None,
) -> None:
    """Continue an interrupted experiment; finished jobs are never run again."""
    _execute(storage, experiment, live)
