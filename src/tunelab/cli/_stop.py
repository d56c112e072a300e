"""``tunelab stop``: ask the engine running an experiment to stop it, or one of its jobs."""

from __future__ import annotations

from typing import Annotated

import typer

from tunelab.cli._common import StorageOption, ask_engine
from tunelab.control import ask_stop

app = typer.Typer()


@app.command()
def stop(
    experiment: Annotated[str, typer.Argument(help="Experiment name or id.")],
    job: Annotated[int | None, typer.Option("--job", help="Stop only this job (its id in `tunelab show`).")] = None,
    cancel: Annotated[bool, typer.Option(
        "--cancel", help="Cancel the running jobs too (default: let them finish, start no new ones).")] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the engine's answer.")] = 10.0,
    storage: StorageOption = None,
) -> None:
    """Stop a running experiment cleanly, or one of its jobs; `tunelab resume` goes on later."""
    answer = ask_engine(storage, experiment, lambda store, exp: ask_stop(store, exp, job, cancel), wait,
                        "asked the engine to stop")
    if answer is not None:
        typer.echo(answer.outcome)
