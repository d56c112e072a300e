"""DeepHyper's ``@profile`` decorator (``deephyper.evaluator.profile``): a run function's
start and end times (and optionally its peak memory) become metadata columns
``m:timestamp_start``, ``m:timestamp_end`` (seconds since the epoch) and ``m:memory``
(bytes, from :mod:`tracemalloc`).

Example:
    >>> @profile
    ... def run(job):
    ...     return 1.0
    >>> out = run({})
    >>> out["objective"], sorted(out["metadata"])
    (1.0, ['timestamp_end', 'timestamp_start'])
"""

from __future__ import annotations

import functools
import time
import tracemalloc
from collections.abc import Callable
from typing import Any


def _profiled(fn: Callable[..., Any], memory: bool) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> dict[str, Any]:
        if memory:
            tracemalloc.start()
        start = time.time()
        try:
            output = fn(*args, **kwargs)
        finally:
            end = time.time()
            peak = tracemalloc.get_traced_memory()[1] if memory else None
            if memory:
                tracemalloc.stop()
        result = dict(output) if isinstance(output, dict) else {"objective": output}
        metadata = {**(result.get("metadata") or {}), "timestamp_start": start, "timestamp_end": end}
        if peak is not None:
            metadata["memory"] = peak
        return {**result, "metadata": metadata}

    return wrapper


def profile(_func: Callable[..., Any] | None = None, *, memory: bool = False, **_options: Any) -> Any:
    """``@profile`` or ``@profile(memory=True)`` on a top-level run function; the wrapped
    function keeps its name, so workers import it by reference as before. Other DeepHyper
    options (``memory_limit``, ``raise_exception``, ...) are accepted and ignored."""
    if _func is not None:
        return _profiled(_func, memory)
    return lambda fn: _profiled(fn, memory)


__all__ = ["profile"]
