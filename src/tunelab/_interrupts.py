"""Ctrl-C and SIGTERM as a request the engine acts on between its steps.

Raised as ``KeyboardInterrupt`` wherever it lands, an interruption could fall between
storage and the engine's record of the running attempts (a job left ``running``), between
an executor taking a finished attempt's exit and handing it over (a result lost), or
inside an executor's own bookkeeping (a traceback). Deferred, it is acted on where the
engine's state is whole: at the top of its loop, at most half a second later.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

HANDLED = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def deferred() -> Iterator[Callable[[], bool]]:
    """While the block runs, the first SIGINT or SIGTERM only marks an interruption, which
    the callable it gives reads; a second one raises ``KeyboardInterrupt`` at once (a
    user who presses Ctrl-C again does not want to wait).

    A signal ignored before (a coordinator started with ``nohup``) stays ignored. Only the
    main thread receives Python's signal handlers, so elsewhere nothing changes and the
    callable always says no.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    caught: list[int] = []

    def mark(signum: int, _frame: object) -> None:
        caught.append(signum)
        if len(caught) > 1:
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, mark) for sig in HANDLED if signal.getsignal(sig) is not signal.SIG_IGN}
    try:
        yield lambda: bool(caught)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
