"""``tunelab stop``: ask the engine running an experiment to stop it, or one of its jobs."""

from __future__ import annotations

from typing import Annotated

import typer

from tunelab._owner import describe
from tunelab.cli._common import StorageOption, open_storage
from tunelab.control import NoEngine, ask_stop, await_answer

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
    store = open_storage(storage)
    try:
        exp = store.experiment(experiment)
        try:
            request = ask_stop(store, exp, job, cancel)
        except NoEngine as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
        answer = await_answer(store, request, wait)
    finally:
        store.close()
    if answer.handled is None:
        typer.echo(f"asked the engine ({describe(exp.owner, exp.beat)}) to stop; it has not answered in {wait:g}s")
        return
    typer.echo(answer.outcome)
