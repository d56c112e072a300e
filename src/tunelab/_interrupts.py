"""Ctrl-C and SIGTERM held back while the engine changes storage and its own record of the
running attempts together, so that an interruption never lands between the two (it would
leave a job ``running`` in storage that the engine no longer knows to cancel)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

HELD = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Deliver SIGINT and SIGTERM at the end of the block, not inside it.

    Only the main thread receives Python's signal handlers, so elsewhere nothing is held.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: caught.append(signum)) for sig in HELD}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        if caught:
            _deliver(caught[0], previous[caught[0]])


def _deliver(sig: int, handler: Any) -> None:
    """Act on ``sig`` as ``handler``, the one in place before the block, would have."""
    if callable(handler):
        handler(sig, None)
    elif handler in (signal.SIG_DFL, None):
        signal.raise_signal(sig)
