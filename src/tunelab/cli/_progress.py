"""Live progress while an experiment runs: Rich on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tunelab.engine import Engine


class Progress:
    """Shows done/running/failed, the best so far and the elapsed time."""

    def __init__(self, live: bool | None = None) -> None:
        self.live_mode = sys.stdout.isatty() if live is None else live
        self._seen = 0
        self._live = None
        self._last = 0.0

    def __enter__(self) -> Progress:
        if self.live_mode:
            from rich.live import Live

            self._live = Live("", refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def line(self, engine: Engine) -> str:
        """One status line for the engine's current state."""
        counts = engine.counts
        done = sum(counts.values())
        target = engine.spec.n_samples or "?"
        best = f"{engine.sign * engine.best[0]:.6g} (job {engine.best[1]})" if engine.best else "-"
        elapsed = time.monotonic() - engine.started
        waiting = sum(a.started is None for a in engine.active.values())
        ready = f", {waiting} ready" if waiting else ""
        return (f"{engine.experiment.name}: {done}/{target} done, {len(engine.active) - waiting} running{ready}, "
                f"{counts.get('failed', 0)} failed, {counts.get('stopped', 0)} stopped | "
                f"best {best} | {elapsed:.0f}s")

    def __call__(self, engine: Engine) -> None:
        done = sum(engine.counts.values())
        if self._live is not None:
            now = time.monotonic()
            if now - self._last > 0.2 or done != self._seen:
                self._live.update(self.line(engine))
                self._last = now
        elif done != self._seen:
            print(self.line(engine), flush=True)
        self._seen = done
