"""How the command line reports a mistake: one line on stderr, ``error: ...``, exit code 2.

Every user-facing failure goes through :func:`report`: tunelab's own
:class:`~tunelab.exceptions.UserError`, a usage error from the argument parser (bad
option value, unknown command), a file the user named that cannot be read or written,
and a database driver's refusal. Each line is masked, so no password in a storage URL
ever reaches the screen.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from typer._click.exceptions import BadParameter, NoArgsIsHelpError, UsageError

from tunelab.exceptions import UserError
from tunelab.masking import mask

USAGE_EXIT = 2
"""Exit code of every user mistake."""


def print_error(line: str) -> None:
    """Print one masked ``error:`` line on stderr."""
    print(f"error: {mask(' '.join(line.split()))}", file=sys.stderr)


def _bad_value(exc: BadParameter, argv: Sequence[str]) -> str | None:
    opts = list(getattr(exc.param, "opts", None) or [])
    for i, arg in enumerate(argv):
        for opt in opts:
            if arg == opt and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(f"{opt}="):
                return arg[len(opt) + 1:]
    return None


def usage_line(exc: UsageError, argv: Sequence[str]) -> str:
    """One line for a usage error: what is wrong, the value given, and where help is."""
    message = exc.format_message().replace("Value error, ", "").rstrip(".")
    if isinstance(exc, BadParameter):
        value = _bad_value(exc, argv)
        if value is not None and repr(value) not in message:
            message += f", got {value!r}"
    command = exc.ctx.command_path if exc.ctx is not None else "tunelab"
    return f"{message}; see `{command} --help`"


def report(exc: BaseException, argv: Sequence[str]) -> int | None:
    """Print ``exc`` as user-facing error lines and return the exit code, or ``None`` when
    ``exc`` is not a user mistake (a bug keeps its traceback)."""
    if isinstance(exc, NoArgsIsHelpError):
        exc.show()
        return USAGE_EXIT
    if isinstance(exc, UsageError):
        print_error(usage_line(exc, argv))
        return USAGE_EXIT
    if isinstance(exc, UserError):
        for line in str(exc).splitlines():
            print_error(line)
        return USAGE_EXIT
    if isinstance(exc, OSError) and exc.filename is not None:
        print_error(f"{exc.filename}: {exc.strerror or exc}; check that the path exists and can be written")
        return USAGE_EXIT
    if type(exc).__module__.startswith("sqlalchemy."):
        cause = getattr(exc, "orig", None) or exc
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        print_error(f"storage: the database refused: {first}; check --storage and the server")
        return USAGE_EXIT
    return None
