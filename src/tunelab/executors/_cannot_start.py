"""Why an attempt could not start, in one line a user can act on.

Starting a job touches the file system and the operating system: the attempt's folder,
the working folder, the program and its permissions. Any of these can fail with an
``OSError`` before the job's own code runs; the executor base class turns that into a
failed attempt whose reason comes from :func:`describe`, so every executor (and every
future one) reports it the same way.
"""

from __future__ import annotations

import errno
import os

PREFIX = "cannot start"
"""First words of every reason given here."""


def describe(exc: OSError, argv: list[str] | None, cwd: str) -> str:
    """The reason an attempt with ``argv`` in ``cwd`` failed to start with ``exc``.

    Example:
        >>> print(describe(PermissionError(errno.EACCES, "Permission denied", "./train.sh"), ["./train.sh"], "/"))
        cannot start: ./train.sh: permission denied; make it executable with `chmod +x ./train.sh`
    """
    program = argv[0] if argv else None
    if not os.path.isdir(cwd):
        return f"{PREFIX}: workingdir {cwd} does not exist; create it or fix `workingdir`"
    if exc.errno == errno.ENOEXEC and program:
        return (f"{PREFIX}: {program}: exec format error, it is not a program the system can run; "
                f"start it with a '#!' line such as '#!/usr/bin/env python3'")
    if exc.errno == errno.EACCES and program and exc.filename in (program, None):
        return f"{PREFIX}: {program}: permission denied; make it executable with `chmod +x {program}`"
    if exc.errno == errno.ENOENT and program and exc.filename in (program, None):
        return f"{PREFIX}: {program} not found in workingdir {cwd} or on PATH; fix `script` or `command`"
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{PREFIX}: {exc.strerror or exc}{where}"
