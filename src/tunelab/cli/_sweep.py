"""``tunelab sweep``: Studio.ml's ``studio run --hyperparam ...`` on tunelab.

Example:
    ::

        tunelab sweep --hyperparam lr=1e-5:l5:0.1 --hyperparam layers=2,5,6 train.py 30
        tunelab sweep -hp lr=1e-4:1:l --optimizer cmaes --metric val_loss:min train.py
"""

from __future__ import annotations

import enum
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from tunelab.cli._common import StorageOption, open_storage
from tunelab.exceptions import UserError

_AFTER_SCRIPT = {"allow_extra_args": True, "ignore_unknown_options": True, "allow_interspersed_args": False}


NO_METRIC = ("no metric was found: the script printed no 'fitness: <value>' line, so the jobs finished "
             "without a result; print one (print('fitness: %s' % accuracy)) or pass --metric "
             "<TensorBoard scalar>[:min|:max] to compare them")
"""Said once at the end of a grid sweep whose jobs reported nothing."""


def runner_command(script: str, args: list[str], workdir: Path, metric: str | None, optimizer: str) -> list[str]:
    """The job's argv: the Studio runner, its options, ``{config}``, the script and its args."""
    from tunelab.formats.studio import fitness_optional

    options = ["--metric", metric] if metric else []
    options += ["--fitness-optional"] if fitness_optional(optimizer, metric) else []
    return [sys.executable, "-m", "tunelab.formats.studio_runner", *options, "--workdir", str(workdir),
            "{config}", script, *args]


def _script_path(script: str, workdir: Path) -> str:
    path = (workdir / script).resolve()
    if not path.is_file():
        raise UserError(f"script: {script!r} does not exist in {workdir}; give the path of the training script")
    try:
        return path.relative_to(workdir).as_posix()
    except ValueError:
        raise UserError(f"script: {script!r} is outside the working directory {workdir}; "
                        "run tunelab sweep from a folder that contains it") from None


class Target(str, enum.Enum):
    """Direction of the objective."""

    min = "min"
    max = "max"


def sweep(
    ctx: typer.Context,
    script: Annotated[str, typer.Argument(help="The training script; arguments after it go to the script.")],
    hyperparam: Annotated[list[str], typer.Option("--hyperparam", "-hp", help="name=values, Studio.ml's grammar; repeat for each variable.")],
    optimizer: Annotated[str, typer.Option("--optimizer", "-opt", help="grid (every combination) or a tunelab proposer: cmaes, tpe, gp, random, ...")] = "grid",
    metric: Annotated[str | None, typer.Option(help="TensorBoard scalar to optimize, name[:min|:max]; default: the script's 'fitness:' line.")] = None,
    target: Annotated[Target | None, typer.Option(help="Default: from the metric suffix (min without one), max for fitness.")] = None,
    n_samples: Annotated[int | None, typer.Option("--n-samples", min=1, help="Jobs to run (grid: at most its size; optimizers: 20).")] = None,
    n_parallel: Annotated[int, typer.Option("--n-parallel", "--num-workers", min=1, help="Jobs at once.")] = 1,
    max_duration: Annotated[str | None, typer.Option(
        "--max-duration", help="Studio.ml's time limit of each job (5h, 48h2m10s); a job over it is killed.")] = None,
    storage: StorageOption = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    name: Annotated[str | None, typer.Option(help="Experiment name (default: sweep-<script>-<time>).")] = None,
    live: Annotated[bool | None, typer.Option("--live/--plain", help="Live display or plain lines.")] = None,
    cloud: Annotated[str | None, typer.Option(help="Studio.ml's cloud workers: not built in, see docs/cluster.md.")
                     ] = None,
) -> None:
    """Run a Studio.ml-style sweep; tunelab options go before the script.

    Each job runs a copy of the script in which right-hand-side uses of each name are
    replaced by its value; the original files are never modified.
    """
    from tunelab import api
    from tunelab.cli._run import _execute
    from tunelab.formats.studio import build_spec, parse_max_duration

    if cloud:
        from tunelab.executors.kinds import remote_route

        raise UserError(f"--cloud: {cloud!r} is not run directly; {remote_route('aws')}")
    workdir = Path.cwd().resolve()
    relative = _script_path(script, workdir)
    spec, notes = build_spec(
        hyperparam, runner_command(relative, list(ctx.args), workdir, metric, optimizer), optimizer=optimizer,
        metric=metric, target=target.value if target else None, n_samples=n_samples, n_parallel=n_parallel,
        seed=seed, name=name or f"sweep-{Path(relative).stem}-{time.strftime('%Y%m%d-%H%M%S')}",
        workingdir=str(workdir))
    if max_duration is not None:
        spec["job_timeout"] = parse_max_duration(max_duration)
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    store = open_storage(storage)
    try:
        api.create(spec, store)
    finally:
        store.close()
    _execute(storage, spec["name"], live)
    if not spec["require_result"] and _any_without_result(storage, spec["name"]):
        typer.echo(f"note: {NO_METRIC}", err=True)


def _any_without_result(storage_url: str | None, name: str) -> bool:
    from tunelab.results import ExperimentResult

    store = open_storage(storage_url)
    try:
        result = ExperimentResult.load(store, name)
    finally:
        store.close()
    return any(job.status == "finished" and job.value is None for job in result.search_jobs)


def register(app: typer.Typer) -> None:
    """Add the ``sweep`` command to ``app``."""
    app.command("sweep", context_settings=_AFTER_SCRIPT)(sweep)
