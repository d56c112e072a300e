"""``tunelab storage``: maintenance of the database."""

from __future__ import annotations

import typer

from tunelab.cli._common import StorageOption
from tunelab.storage import Storage, default_url

app = typer.Typer(name="storage", help="Maintain the storage (schema upgrades).", no_args_is_help=True)


@app.command()
def upgrade(storage: StorageOption = None) -> None:
    """Upgrade the storage schema to this tunelab's version."""
    typer.echo(Storage.upgrade(default_url() if storage is None else storage))
