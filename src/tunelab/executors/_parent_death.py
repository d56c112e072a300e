"""Starting a child that gets SIGKILL when the thread that started it dies (Linux).

A Dask worker starts its trials this way, so a worker killed mid-attempt leaves no orphan.
The plain route is ``prctl(PR_SET_PDEATHSIG)`` in a ``preexec_fn``, but a function to run
between ``fork`` and ``exec`` rules out ``vfork``: in a worker's large, threaded process
that costs 10-30 ms per job. util-linux's ``setpriv --pdeathsig`` makes the same call in a
small program that then executes the trial, so Python can ``vfork``; the program is
checked here first, as ``exec`` would, so a trial that cannot start still fails with the
``OSError`` of its own program (and ``setpriv``, which uses ``execvp``, never hands a file
without a ``#!`` line to a shell).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import shutil
import signal
import subprocess
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1

_PROGRAM_MAGIC = (b"#!", b"\x7fELF")
"""How an executable file starts when the kernel can run it directly."""


def start_args(argv: list[str], cwd: str, path: str | None) -> tuple[list[str], Callable[[], None] | None]:
    """The argv and ``preexec_fn`` for :class:`subprocess.Popen` that run ``argv`` (in
    ``cwd``, with ``path`` as ``PATH``) as a child that dies with the calling thread.

    Raises:
        OSError: what ``exec`` would raise for ``argv[0]`` (not found, not executable,
            not a program), when the check is made here.
    """
    setpriv = _setpriv()
    if setpriv is None:
        return argv, _die_with_parent
    _check_program(argv[0], cwd, path)
    return [setpriv, "--pdeathsig", "KILL", "--", *argv], None


@functools.cache
def _setpriv() -> str | None:
    """util-linux's ``setpriv`` if it has ``--pdeathsig`` (2.33 and later)."""
    found = shutil.which("setpriv")
    if found is None:
        return None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        ran = subprocess.run([found, "--pdeathsig", "KILL", "--", "true"], capture_output=True, timeout=10)
        if ran.returncode == 0:
            return found
    return None


def _check_program(program: str, cwd: str, path: str | None) -> None:
    """Raise the ``OSError`` that executing ``program`` would."""
    if "/" in program:
        found = os.path.join(cwd, program)
    else:
        found = shutil.which(program, path=path if path is not None else os.defpath) or ""
        if found and not os.path.isabs(found):
            found = os.path.join(cwd, found)
    if not found or not os.path.exists(found):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)
    if os.path.isdir(found) or not os.access(found, os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), program)
    with open(found, "rb") as handle:
        if not handle.read(4).startswith(_PROGRAM_MAGIC):
            raise OSError(errno.ENOEXEC, os.strerror(errno.ENOEXEC), program)


def _prctl() -> Callable[..., int] | None:
    with contextlib.suppress(OSError, AttributeError):
        return ctypes.CDLL(None, use_errno=True).prctl
    return None


_PRCTL = _prctl()
"""Linux's ``prctl``, looked up once: a child forked from a threaded process must not
load libraries between ``fork`` and ``exec``."""


def _die_with_parent() -> None:
    """In a forked child before ``exec``: get SIGKILL when the parent thread dies (a no-op
    off Linux)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
