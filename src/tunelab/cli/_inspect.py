"""``tunelab ls``, ``show``, ``export`` and ``report``: look at and feed results."""

from __future__ import annotations

import datetime
import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tunelab.cli._common import StorageOption, ask_engine, open_storage
from tunelab.control import ask_score
from tunelab.results import ExperimentResult

app = typer.Typer()


class ExportFormat(str, enum.Enum):
    """Formats of ``tunelab export``."""

    csv = "csv"
    json = "json"


def _load(storage: str | None, experiment: str) -> ExperimentResult:
    store = open_storage(storage)
    try:
        return ExperimentResult.load(store, experiment)
    finally:
        store.close()


def _when(stamp: float | None) -> str:
    return datetime.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S") if stamp else "-"


@app.command("ls")
def list_experiments(storage: StorageOption = None) -> None:
    """List the experiments in the storage."""
    store = open_storage(storage)
    try:
        table = Table("id", "name", "status", "jobs", "best", "created")
        for e in store.experiments():
            result = ExperimentResult(e, store.jobs(e.id, details=False))
            best = result.best
            shown = f"{best['result']:.6g}" if best else f"front of {len(result.front)}" if result.objectives else "-"
            table.add_row(str(e.id), e.name, e.status, str(len(result.search_jobs)), shown, _when(e.created))
    finally:
        store.close()
    Console().print(table)


@app.command()
def show(
    experiment: Annotated[str, typer.Argument(help="Experiment name or id.")],
    storage: StorageOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the documented JSON object.")] = False,
) -> None:
    """Status, best config and value, and a table of jobs."""
    result = _load(storage, experiment)
    if as_json:
        typer.echo(result.to_json())
        return
    e = result.experiment
    typer.echo(f"{e.name} (id {e.id}): {e.status}" + (f" - {e.message}" if e.message else ""))
    if result.best:
        typer.echo(f"best: {result.best['result']:.6g} (job {result.best['job_id']}) {result.best['config']}")
    if result.model_dir:
        typer.echo(f"model: {result.model_dir}")
    names = [p["name"] for p in e.spec.get("parameter_config", [])]
    if result.objectives:
        _show_front(result, names)
    values = [name for name, _ in result.objectives] or ["value"]
    hosts = {j.id: j.attempts[-1].host or "" for j in result.jobs if j.attempts}
    placed = ["host"] if len(set(hosts.values())) > 1 else []  # shown when jobs ran in several places
    table = Table("job", "status", *values, *names, "attempts", *placed, "error")
    for row in result.rows():
        shown = [_number(row.get(v)) + ("*" if row.get("pareto") and i == 0 else "") for i, v in enumerate(values)]
        where = [hosts.get(row["job_id"], "")] if placed else []
        table.add_row(str(row["job_id"]), row["status"], *shown, *(str(row.get(n, "")) for n in names),
                      str(row["attempts"]), *where, (row["error"] or "")[:60])
    Console().print(table)


def _number(value: float | None) -> str:
    return f"{value:.6g}" if value is not None else "-"


def _show_front(result: ExperimentResult, names: list[str]) -> None:
    """The Pareto front, one row per non-dominated job, best first by the first objective."""
    objectives = result.objectives
    first, target = objectives[0]
    front = sorted(result.front, key=lambda j: (j.objectives[first] * (-1 if target == "max" else 1), j.id))
    directions = ", ".join(f"{name} ({target})" for name, target in objectives)
    typer.echo(f"Pareto front: {len(front)} jobs no other finished job beats in every objective of {directions}")
    table = Table("job", *(name for name, _ in objectives), *names)
    for job in front:
        table.add_row(str(job.id), *(_number(job.objectives.get(n)) for n, _ in objectives),
                      *(str(job.config.get(n, "")) for n in names))
    Console().print(table)
    typer.echo("all jobs (* marks the front):")


@app.command()
def export(
    experiment: Annotated[str, typer.Argument(help="Experiment name or id.")],
    storage: StorageOption = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or json.")] = ExportFormat.csv,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
) -> None:
    """Export the jobs as CSV (one row per job) or the full JSON object."""
    result = _load(storage, experiment)
    text = result.to_csv() if fmt is ExportFormat.csv else result.to_json()
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


@app.command()
def report(
    experiment: Annotated[str, typer.Argument(help="Experiment name or id.")],
    job: Annotated[int, typer.Argument(help="Job id (as printed by the passive resource).")],
    value: Annotated[float, typer.Argument(help="The job's score.")],
    wait: Annotated[float, typer.Option(help="Seconds to wait for the engine's answer.")] = 10.0,
    storage: StorageOption = None,
) -> None:
    """Give the score of a job run by hand (the `passive` resource) to the engine running it."""
    answer = ask_engine(storage, experiment, lambda store, exp: ask_score(store, exp, job, value), wait,
                        "sent the score to the engine")
    if answer is None:
        return
    typer.echo(answer.outcome)
    if not answer.outcome.startswith("recorded"):  # the engine's answer when it took the score
        raise typer.Exit(1)
