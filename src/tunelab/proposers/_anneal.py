"""Annealing search in the style of hyperopt's ``anneal``.

Each proposal picks one of the best jobs so far (rank drawn from a geometric law, so the
best is most likely) and samples around it, per parameter in the unit cube, with a
neighbourhood that shrinks as the parameter gathers observations: a truncated normal of
width ``w = 0.5 / (1 + shrink * T)`` for numeric parameters, and for choices a fresh
uniform draw with probability ``w`` (else the parent's value).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tunelab.proposers._base import JobView, Proposal, Proposer
from tunelab.proposers._qmc import QMCDesign
from tunelab.proposers._registry import register
from tunelab.proposers._tpe.estimator import truncnorm_sample
from tunelab.space import Config, Space

_MAX_TRIES = 10  # fresh draws per proposal before accepting a config already running


class AnnealCore:
    """The pure annealing rule over unit-cube points (NaN = inactive).

    Args:
        categorical: per dimension, True for unordered choices (resampled, not perturbed).
        avg_best_rank: mean of the geometric law over ranks (1 = always the best).
        shrink: how fast neighbourhoods shrink with the number of observations.
        min_width: the smallest numeric width, so search never freezes completely.

    Example:
        >>> core = AnnealCore(np.array([False]))
        >>> core.add(0, np.array([0.3]), 1.0)
        >>> point = core.suggest(np.random.default_rng(0))
        >>> bool(0.0 <= point[0] <= 1.0)
        True
    """

    def __init__(self, categorical: np.ndarray, *, avg_best_rank: float = 2.0, shrink: float = 0.1,
                 min_width: float = 0.005) -> None:
        self.categorical = np.asarray(categorical, bool)
        self.avg_best_rank, self.shrink, self.min_width = avg_best_rank, shrink, min_width
        self._finished: dict[int, tuple[np.ndarray, float]] = {}
        self._counts = np.zeros(len(self.categorical))
        self._ranked: list[int] | None = None

    def add(self, number: int, point: np.ndarray, loss: float) -> None:
        """Record the result of job ``number`` (once) at unit point ``point``."""
        point = np.asarray(point, float)
        self._finished[number] = (point, float(loss))
        self._counts += ~np.isnan(point)
        self._ranked = None

    @property
    def n_finished(self) -> int:
        """Number of jobs with a result."""
        return len(self._finished)

    def ranked(self) -> list[int]:
        """Job numbers from best to worst (ties by job number), cached between results."""
        if self._ranked is None:
            self._ranked = sorted(self._finished, key=lambda k: (self._finished[k][1], k))
        return self._ranked

    def widths(self) -> np.ndarray:
        """Per dimension, the current neighbourhood width ``0.5 / (1 + shrink * T)``."""
        return np.maximum(0.5 / (1.0 + self.shrink * self._counts), self.min_width)

    def suggest(self, rng: np.random.Generator) -> np.ndarray:
        """A new unit point near a good job; inactive dimensions of the parent are drawn uniformly."""
        ranked = self.ranked()
        rank = min(int(rng.geometric(1.0 / self.avg_best_rank)) - 1, len(ranked) - 1)
        parent = self._finished[ranked[rank]][0]
        width = self.widths()
        fresh = rng.random(len(parent))
        near = truncnorm_sample(rng, np.nan_to_num(parent, nan=0.5), width)
        resample = rng.random(len(parent)) < width
        out = np.where(self.categorical, np.where(resample, fresh, parent), near)
        return np.where(np.isnan(parent), fresh, out)

    def __repr__(self) -> str:
        best = self.ranked()[:1]
        best_loss = self._finished[best[0]][1] if best else None
        return (f"AnnealCore(n_finished={self.n_finished}, best_loss={best_loss}, "
                f"avg_best_rank={self.avg_best_rank}, shrink={self.shrink})")


@register
class AnnealProposer(Proposer):
    """Simulated-annealing-like local search around the best jobs (hyperopt's ``anneal``).

    The first ``n_startup_jobs`` proposals come from a scrambled Sobol design. Failed jobs
    are ignored. Parallel proposals use different random streams and redraw a config that
    is already running or in the batch (up to 10 times), so they differ.

    Args:
        n_startup_jobs: finished jobs needed before annealing (default ``max(5, d)``).
        avg_best_rank: mean rank of the job sampled around (default 2: mostly the best).
        shrink: neighbourhood shrink rate per observation (default 0.1).

    Example:
        >>> from tunelab.space import Space, Float
        >>> p = AnnealProposer(Space([Float("x", 0, 1)]), seed=0)
        >>> len(p.propose(2, running=[]))
        2
    """

    name = "anneal"

    def __init__(self, space: Space, *, seed: int = 0, n_startup_jobs: int | None = None,
                 avg_best_rank: float = 2.0, shrink: float = 0.1) -> None:
        super().__init__(space, seed=seed)
        n_startup_jobs = max(5, len(space)) if n_startup_jobs is None else n_startup_jobs
        if not isinstance(n_startup_jobs, int) or n_startup_jobs < 1:
            raise ValueError(f"`n_startup_jobs` must be an integer >= 1, but got {n_startup_jobs!r}")
        if not isinstance(avg_best_rank, (int, float)) or not avg_best_rank >= 1:
            raise ValueError(f"`avg_best_rank` must be a number >= 1, but got {avg_best_rank!r}")
        if not isinstance(shrink, (int, float)) or not shrink > 0:
            raise ValueError(f"`shrink` must be a positive number, but got {shrink!r}")
        self.n_startup_jobs = n_startup_jobs
        self.core = AnnealCore(np.array([p.is_categorical for p in space]),
                               avg_best_rank=float(avg_best_rank), shrink=float(shrink))
        self.design = QMCDesign(len(space), "sobol", seed=self.seed)

    def _next(self, i: int, taken: set[str]) -> Config:
        """Proposal ``i`` of the batch; annealed draws avoid configs in ``taken`` (a few tries)."""
        if self.core.n_finished < self.n_startup_jobs:
            return self.space.from_unit(self.design.points(self.n_proposed + i, 1)[0])
        rng = self.rng(i)
        config = self.space.from_unit(self.core.suggest(rng))
        for _ in range(_MAX_TRIES):
            if self.space.key(config) not in taken:
                break
            config = self.space.from_unit(self.core.suggest(rng))
        return config

    def propose(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        taken = {self.space.key(job.config) for job in running}
        out: list[Proposal] = []
        for i in range(n):
            config = self._next(i, taken)
            taken.add(self.space.key(config))
            out.append(Proposal(config))
        return out

    def observe(self, job: JobView) -> None:
        self.core.add(job.number, self.space.to_unit(job.config), float(job.loss))  # type: ignore[arg-type]
