"""Options and helpers shared by the command groups."""

from __future__ import annotations

from typing import Annotated

import typer

from tunelab.storage import Storage

StorageOption = Annotated[str | None, typer.Option(
    "--storage", help="Database URL (default: $TUNELAB_STORAGE or ./.tunelab/tunelab.db).")]


def open_storage(url: str | None) -> Storage:
    """The storage at ``url`` or the default one."""
    return Storage(url)
