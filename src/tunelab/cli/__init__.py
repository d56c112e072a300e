"""The ``tunelab`` command line: one Typer sub-app per command group.

User mistakes (:class:`tunelab.exceptions.UserError`, usage errors, unreadable files)
print one line per problem on stderr and exit with code 2, without a traceback
(:mod:`tunelab.cli._errors`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from tunelab.cli import _dashboard, _import, _init, _inspect, _run, _stop, _storage
from tunelab.cli._errors import report

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
    if any(info.name == "sweep" for info in app.registered_commands):
        return
    try:
        from tunelab.cli import _sweep
    except ImportError:
        return
    _sweep.register(app)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``tunelab`` command; ``argv`` defaults to ``sys.argv[1:]``.

    Always ends with :class:`SystemExit`: 0 on success, 2 for a user mistake (one line),
    130 on interruption, or the command's own code.
    """
    _optional_groups()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = app(args=args, prog_name="tunelab", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        code = report(exc, args)
        if code is None:
            raise
        sys.exit(code)
    sys.exit(code if isinstance(code, int) else 0)
