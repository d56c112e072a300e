"""``tunelab dashboard`` and ``tunelab plot``: see experiments in a browser or in a file."""

from __future__ import annotations

import enum
import secrets
from pathlib import Path
from typing import Annotated

import typer

from tunelab.analysis import KINDS
from tunelab.cli._common import StorageOption, open_storage
from tunelab.exceptions import UserError

app = typer.Typer()

PlotKind = enum.Enum("PlotKind", {k: k for k in KINDS}, type=str)
"""The ``--kind`` choices of ``tunelab plot``."""


@app.command()
def dashboard(
    storage: StorageOption = None,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to serve on (0: any free port).")] = 8080,
    host: Annotated[str, typer.Option(
        help="Address to bind. Anything but loopback requires a token on every request.")] = "127.0.0.1",
    token: Annotated[str | None, typer.Option(
        help="Token required on every request (default: none on loopback, generated elsewhere).")] = None,
) -> None:
    """Serve a live web dashboard of the storage's experiments (reads storage only)."""
    from tunelab.dashboard import DashboardData, DashboardServer, is_loopback

    if not is_loopback(host) and not token:
        token = secrets.token_urlsafe(24)
    store = open_storage(storage)
    try:
        server = DashboardServer(DashboardData(store), host, port, token)
    except (OSError, OverflowError) as exc:
        store.close()
        raise UserError(f"--port: cannot serve on {host}:{port} ({getattr(exc, 'strerror', None) or exc}); "
                        f"choose another port or --host, or "
                        f"--port 0 for any free one") from None
    shown = host if ":" not in host else f"[{host}]"
    url = f"http://{shown}:{server.server_address[1]}/" + (f"?token={token}" if token else "")
    typer.echo(f"tunelab dashboard on {url} (Ctrl-C to stop)", err=False)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()


@app.command("plot")
def plot_command(
    experiment: Annotated[str, typer.Argument(help="Experiment name or id.")],
    kind: Annotated[PlotKind, typer.Option("--kind", help="Which plot.")] = PlotKind.history,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write (self-contained).")] = Path(
        "plot.html"),
    storage: StorageOption = None,
) -> None:
    """Write one plot of an experiment as a self-contained HTML file that works offline."""
    from tunelab.analysis import plot
    from tunelab.results import ExperimentResult

    if output.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"--output: {str(output)!r} is not an .html file; PNG: open the HTML and use its PNG "
                        f"button (see docs/dashboard.md)")
    store = open_storage(storage)
    try:
        result = ExperimentResult.load(store, experiment)
    finally:
        store.close()
    path = plot(result, kind.value).write_html(output)
    typer.echo(f"wrote {path}")
