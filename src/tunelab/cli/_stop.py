"""``tunelab stop``: ask the engine running an experiment to stop it, or one of its jobs."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from tunelab import storage as st
from tunelab._owner import describe, live_owner
from tunelab.cli._common import StorageOption, open_storage
from tunelab.exceptions import UserError

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
        if job is not None and store.job(job).experiment_id != exp.id:
            raise UserError(f"--job: job {job} belongs to another experiment; `tunelab show {exp.name}` lists "
                            f"the jobs of {exp.name!r}")
        if not live_owner(exp.owner, exp.beat):
            typer.echo(f"no engine is running {exp.name!r} (status {exp.status}); nothing to stop", err=True)
            raise typer.Exit(1)
        inbox = st.Inbox(store)
        if job is not None:
            request = inbox.send(exp.id, st.STOP_JOB, target=job)
        else:
            request = inbox.send(exp.id, st.STOP_EXPERIMENT, payload={"mode": "cancel" if cancel else "drain"})
        deadline = time.monotonic() + wait
        while inbox.get(request).handled is None and time.monotonic() < deadline:
            time.sleep(0.2)
        answer = inbox.get(request)
    finally:
        store.close()
    if answer.handled is None:
        typer.echo(f"asked the engine ({describe(exp.owner, exp.beat)}) to stop; it has not answered in {wait:g}s")
        return
    typer.echo(answer.outcome)
