"""Options and helpers shared by the command groups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from tunelab._owner import describe
from tunelab.control import NoEngine, await_answer
from tunelab.storage import Experiment, Request, Storage

StorageOption = Annotated[str | None, typer.Option(
    "--storage", help="Database URL (default: $TUNELAB_STORAGE or ./.tunelab/tunelab.db).")]


def open_storage(url: str | None) -> Storage:
    """The storage at ``url`` or the default one."""
    return Storage(url)


def ask_engine(url: str | None, experiment: str, send: Callable[[Storage, Experiment], int], wait: float,
               what: str) -> Request | None:
    """Send a request with ``send`` to the engine running ``experiment`` and wait up to
    ``wait`` seconds for its answer; ``None`` (after saying so) when it has not answered.
    With no engine running, say so and exit 1: nothing would act on the request."""
    store = open_storage(url)
    try:
        exp = store.experiment(experiment)
        try:
            request = send(store, exp)
        except NoEngine as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
        answer = await_answer(store, request, wait)
    finally:
        store.close()
    if answer.handled is None:
        typer.echo(f"{what} ({describe(exp.owner, exp.beat)}); it has not answered in {wait:g}s")
        return None
    return answer
