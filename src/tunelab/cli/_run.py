"""``tunelab run`` and ``tunelab resume``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tunelab.cli._common import StorageOption, open_storage
from tunelab.cli._progress import Progress
from tunelab.results import ExperimentResult

if TYPE_CHECKING:
    from tunelab.engine import Outcome

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


def _execute(storage_url: str | None, name: str, live: bool | None) -> None:
    from tunelab import api

    store = open_storage(storage_url)
    try:
        with Progress(live) as progress:
            outcome = api.build_engine(store, name, on_change=progress).run()
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
) -> None:
    """Run an experiment file to its end (Ctrl-C stops cleanly; `tunelab resume` goes on)."""
    from tunelab import api
    from tunelab.loader import load_experiment
    from tunelab.spec import parse_spec, resolve_paths

    spec = load_experiment(experiment)
    overrides = {k: v for k, v in {"name": name, "proposer": proposer, "n_samples": n_samples,
                                   "n_parallel": n_parallel, "random_seed": seed}.items() if v is not None}
    if overrides:
        spec = resolve_paths(parse_spec({**spec.model_dump(exclude_none=True), **overrides}),
                             experiment.resolve().parent)
    store = open_storage(storage)
    try:
        api.create(spec, store)
    finally:
        store.close()
    _execute(storage, spec.name, live)


@app.command()
def resume(
    experiment: Annotated[str, typer.Argument(help="Experiment name or id.")],
    storage: StorageOption = None,
    live: Annotated[bool | None, typer.Option("--live/--plain", help="Live display or plain lines.")] = None,
) -> None:
    """Continue an interrupted experiment; finished jobs are never run again."""
    _execute(storage, experiment, live)
