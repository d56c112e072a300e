"""The ``tunelab`` command line: one Typer sub-app per command group.

User mistakes (:class:`tunelab.exceptions.UserError`) print one line per problem on
stderr and exit with code 2, without a traceback.
"""

from __future__ import annotations

import sys

import typer

from tunelab.cli import _dashboard, _import, _init, _inspect, _run, _stop, _storage
from tunelab.exceptions import UserError

app = typer.Typer(
    name="tunelab",
    help="Hyperparameter optimization for your training scripts.",
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    add_completion=False,
)
for group in (_run.app, _stop.app, _inspect.app, _init.app, _import.app, _dashboard.app):
    app.add_typer(group)
app.add_typer(_storage.app)


def _optional_groups() -> None:
    try:
        from tunelab.cli import _sweep
    except ImportError:
        return
    _sweep.register(app)


def main() -> None:
    """Entry point of the ``tunelab`` command."""
    _optional_groups()
    try:
        code = app(standalone_mode=False)
    except UserError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except typer.TyperException as exc:
        exc.show()
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)
