"""Multi-objective TPE (Ozaki et al., 2020 and 2022): TPE whose good group is chosen by
Pareto rank and hypervolume contribution instead of by one loss.

The finished jobs are ranked by non-domination (front 0, then the front of the rest, ...).
Whole fronts fill the good group while they fit; the front that does not fit is cut to
size by dropping, one at a time, the job that adds least hypervolume, so the good group
spreads along the front instead of bunching. Within the good group each job weighs by
its share of the group's hypervolume (the largest share weighs 1), so jobs that extend
the front pull ``l(x)`` harder. Objectives are scaled to ``[0, 1]`` over the finished
jobs first, with the reference point at 1.1 in each, so no objective's units dominate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tunelab import pareto
from tunelab.proposers._base import JobView
from tunelab.proposers._registry import register
from tunelab.proposers._tpe.proposer import TPECore, TPEProposer, forgetting_weights
from tunelab.space import Config

REFERENCE = 1.1
"""Reference point of the scaled objectives: a little beyond the worst finished job, so
the extreme jobs of the front have a share of the hypervolume too."""

MIN_WEIGHT = 1e-3
"""Weight of a good job that adds no hypervolume (a dominated one within the group)."""


def scaled(losses: np.ndarray) -> np.ndarray:
    """Each objective mapped to ``[0, 1]`` over the rows (a constant one to 0)."""
    low, high = losses.min(axis=0), losses.max(axis=0)
    return (losses - low) / np.where(high > low, high - low, 1.0)


def good_indices(losses: np.ndarray, n_good: int) -> np.ndarray:
    """Row indices of the ``n_good`` best rows by Pareto rank, the last front that does not
    fit cut by hypervolume contribution (rows already scaled)."""
    rank = pareto.ranks(losses, enough=n_good)
    chosen: list[int] = []
    for level in range(int(rank.min()), int(rank.max()) + 1):
        members = np.flatnonzero(rank == level)
        room = n_good - len(chosen)
        if len(members) > room:
            reference = np.full(losses.shape[1], REFERENCE)
            members = members[pareto.reduce_by_contribution(losses[members], room, reference)]
        chosen += members.tolist()
        if len(chosen) >= n_good:
            break
    return np.sort(np.array(chosen, dtype=int))


def contribution_weights(losses: np.ndarray) -> np.ndarray:
    """Weights of the good rows: hypervolume share over the largest, at least ``MIN_WEIGHT``."""
    share = pareto.contributions(losses, np.full(losses.shape[1], REFERENCE))
    if len(share) <= 1 or share.max() <= 0:
        return np.ones(len(share))
    return np.clip(share / share.max(), MIN_WEIGHT, 1.0)


class MOTPECore(TPECore):
    """The TPE model over vectors of losses; only the split into good and bad differs."""

    def add(self, number: int, config: Config, loss: Sequence[float] | float | None) -> None:
        """Record job ``number`` with its losses (one per objective); None marks a failure."""
        if loss is None:
            self._failed[number] = self.encode(config)
        else:
            self._finished[number] = (self.encode(config), np.asarray(loss, float))
        self._arrays = None

    def split(self, pending: Sequence[np.ndarray] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Good points by rank and hypervolume, weighted by contribution; the rest bad,
        with failed jobs and ``pending`` points as constant liars (as in :class:`TPECore`)."""
        numbers, points, losses = self._stacked()
        losses = scaled(losses.reshape(len(numbers), -1))
        n_good = max(1, min(math.ceil(self.gamma * len(numbers)), self.max_good))
        good = good_indices(losses, n_good)
        bad = np.setdiff1d(np.arange(len(numbers)), good)[-self.max_history:]
        failed = [self._failed[k] for k in sorted(self._failed)][-self.max_history:]
        liars = np.array(failed + list(pending)).reshape(-1, len(self.dims))
        bad_points = np.vstack([points[bad], liars])
        bad_weights = np.concatenate([forgetting_weights(len(bad), self.forget_after), np.ones(len(liars))])
        return points[good], contribution_weights(losses[good]), bad_points, bad_weights


@register
class MOTPEProposer(TPEProposer):
    """Multi-objective TPE: the ``tpe`` proposer with a Pareto split (see the module).

    Takes the options of ``tpe``. Jobs of a single-objective history (no ``losses``)
    count as failures, steering away without pretending to know their trade-off.

    Example:
        >>> from tunelab.space import Space, Float
        >>> p = MOTPEProposer(Space([Float("x", 0, 1)]), seed=0, n_startup_jobs=2)
        >>> for k, x in enumerate([0.1, 0.9]):
        ...     p.observe(JobView(k, {"x": x}, "finished", x, losses=(x, 1 - x)))
        >>> len(p.propose(1, running=[]))
        1
    """

    name = "motpe"
    multi_objective = True
    core_class = MOTPECore

    def observe(self, job: JobView) -> None:
        self.core.add(job.number, job.config, job.losses)
