"""A trust region around the incumbent, where the acquisition is maximised (TuRBO).

Expected improvement over the whole cube favours far, unexplored points: in eight or
more dimensions nearly every point is far from the data, so the search keeps sampling
the cube's faces while the good region found so far is left half explored. Following
Eriksson et al. (2019, "Scalable global optimization via local Bayesian optimization"),
the acquisition is maximised inside a box centred on the best observation. Its side
doubles after a few successes in a row and halves after many failures in a row; when it
becomes tiny it starts again at its initial side (around the incumbent, which is where
TuRBO's restart would end up in a single region).

The side is a pure function of the losses in job order, so a resumed search, which
replays the same history, gets the same box as the uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

INITIAL_SIDE = 0.8
SMALLEST_SIDE = 0.5**7
LARGEST_SIDE = 1.6
SUCCESSES_TO_GROW = 3
MIN_FAILURES_TO_SHRINK = 4
IMPROVEMENT = 1e-3
"""Relative improvement of the best loss that counts as a success."""


class TrustRegion:
    """The side of the box, updated one job at a time.

    Args:
        dim: number of parameters; a box halves after ``max(4, dim)`` failures in a row,
            so every direction gets a chance before the region shrinks.

    Example:
        >>> region = TrustRegion(dim=2)
        >>> region.replay([5.0, 4.0, 3.0, 2.0])
        >>> region.side
        1.6
    """

    def __init__(self, dim: int) -> None:
        self.failures_to_shrink = max(MIN_FAILURES_TO_SHRINK, dim)
        self.side = INITIAL_SIDE
        self.best = np.inf
        self.successes = self.failures = 0

    def __repr__(self) -> str:
        return (f"TrustRegion(side={self.side:.4g}, best={self.best:.6g}, successes={self.successes}, "
                f"failures={self.failures}/{self.failures_to_shrink})")

    def observe(self, loss: float | None) -> None:
        """Count one job's loss (None for a failed job) as a success or a failure."""
        if loss is not None and loss < self.best - IMPROVEMENT * abs(self.best):
            self.successes, self.failures = self.successes + 1, 0
        else:
            self.successes, self.failures = 0, self.failures + 1
        if loss is not None:
            self.best = min(self.best, loss)
        if self.successes == SUCCESSES_TO_GROW:
            self.side, self.successes = min(2.0 * self.side, LARGEST_SIDE), 0
        elif self.failures == self.failures_to_shrink:
            self.side, self.failures = self.side / 2.0, 0
        if self.side < SMALLEST_SIDE:
            self.side = INITIAL_SIDE

    def replay(self, losses: Iterable[float | None], warm_up: int = 0) -> None:
        """Observe ``losses`` in order; the first ``warm_up`` only set the best loss (the initial design)."""
        for i, loss in enumerate(losses):
            if i < warm_up:
                if loss is not None:
                    self.best = min(self.best, loss)
            else:
                self.observe(loss)

    def box(self, centre: np.ndarray, bounded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper unit bounds of the box around ``centre``; columns not ``bounded`` span [0, 1]."""
        low = np.where(bounded, np.clip(centre - self.side / 2.0, 0.0, 1.0), 0.0)
        high = np.where(bounded, np.clip(centre + self.side / 2.0, 0.0, 1.0), 1.0)
        return low, high
