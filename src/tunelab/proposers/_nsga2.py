"""NSGA-II (Deb et al., 2002) as a steady-state search over the unit-cube encoding.

The parents are the ``population_size`` best finished jobs by non-domination rank, ties
broken by crowding distance (lonelier first): NSGA-II's elitist survival, applied to the
whole history rather than generation by generation, so a proposal can be made whenever a
slot is free and depends only on the finished jobs (a resumed search proposes as the
uninterrupted one did). Each child comes from two parents picked by binary tournaments,
simulated binary crossover (SBX) of the ordered parameters with a uniform swap of
choices, and polynomial mutation (a choice mutates to a random category).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tunelab import pareto
from tunelab.proposers._base import JobView, Proposal, Proposer
from tunelab.proposers._qmc import QMCDesign
from tunelab.proposers._registry import register
from tunelab.space import Config, Space

_TRIES = 32
"""Draws tried for a config not run yet."""

_DESIGN_STRIDE = 4096
"""Offset between the design points tried for one start-up proposal."""


def _spread(u: np.ndarray, room: np.ndarray, gap: np.ndarray, eta: float) -> np.ndarray:
    """SBX's spread factor for a child on the side with ``room`` to the bound."""
    alpha = 2.0 - (1.0 + 2.0 * room / gap) ** -(eta + 1.0)
    inside = u <= 1.0 / alpha
    base = np.where(inside, u * alpha, 1.0 / np.maximum(2.0 - u * alpha, 1e-12))
    return base ** (1.0 / (eta + 1.0))


def sbx(rng: np.random.Generator, a: np.ndarray, b: np.ndarray, eta: float) -> np.ndarray:
    """One child of Deb's bounded simulated binary crossover of ``a`` and ``b`` in ``[0, 1]``:
    each coordinate is crossed with probability 1/2, the child taking either offspring."""
    low, high = np.minimum(a, b), np.maximum(a, b)
    gap = np.maximum(high - low, 1e-12)
    u = rng.random(len(a))
    below = 0.5 * (low + high - _spread(u, low, gap, eta) * gap)
    above = 0.5 * (low + high + _spread(u, 1.0 - high, gap, eta) * gap)
    offspring = np.where(rng.random(len(a)) < 0.5, below, above)
    crossed = (rng.random(len(a)) < 0.5) & (high - low > 1e-12)
    return np.clip(np.where(crossed, offspring, a), 0.0, 1.0)


def polynomial_mutation(rng: np.random.Generator, x: np.ndarray, rate: float, eta: float) -> np.ndarray:
    """Deb's bounded polynomial mutation of each coordinate with probability ``rate``."""
    u = rng.random(len(x))
    low_side = u < 0.5
    delta = np.where(low_side, (2.0 * u + (1.0 - 2.0 * u) * (1.0 - x) ** (eta + 1.0)) ** (1.0 / (eta + 1.0)) - 1.0,
                     1.0 - (2.0 * (1.0 - u) + 2.0 * (u - 0.5) * x ** (eta + 1.0)) ** (1.0 / (eta + 1.0)))
    mutate = rng.random(len(x)) < rate
    return np.clip(np.where(mutate, x + delta, x), 0.0, 1.0)


def survivors(losses: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the ``size`` best rows (rank, then crowding distance, then row order),
    with the rank and crowding distance of each survivor."""
    rank = pareto.ranks(losses, enough=size)
    crowd = np.zeros(len(losses))
    for level in np.unique(rank):
        members = np.flatnonzero(rank == level)
        crowd[members] = pareto.crowding_distance(losses[members])
    order = np.lexsort((np.arange(len(losses)), -crowd, rank))[:size]
    return order, rank[order], crowd[order]


@register
class NSGA2Proposer(Proposer):
    """NSGA-II: non-dominated sorting and crowding distance, with SBX and polynomial mutation.

    Args:
        population_size: parents kept (default 20); the first this many jobs come from
            a scrambled Sobol design.
        crossover_prob: chance a child is crossed rather than copied from one parent.
        mutation_prob: chance each parameter mutates (default ``1 / number of parameters``).
        eta_crossover: SBX distribution index (larger: children nearer their parents).
        eta_mutation: polynomial mutation distribution index.
        max_history: most recent finished jobs considered as parents (bounds the cost).

    Example:
        >>> from tunelab.space import Space, Float
        >>> p = NSGA2Proposer(Space([Float("x", 0, 1)]), seed=0, population_size=4)
        >>> len(p.propose(2, running=[]))
        2
    """

    name = "nsga2"
    multi_objective = True

    def __init__(self, space: Space, *, seed: int = 0, population_size: int = 20, crossover_prob: float = 0.9,
                 mutation_prob: float | None = None, eta_crossover: float = 15.0, eta_mutation: float = 20.0,
                 max_history: int = 2000) -> None:
        super().__init__(space, seed=seed)
        for label, value, low in (("population_size", population_size, 2), ("max_history", max_history, 2)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"`{label}` must be an integer >= {low}, but got {value!r}")
        for label, value in (("crossover_prob", crossover_prob), ("mutation_prob", mutation_prob)):
            if value is not None and not (isinstance(value, (int, float)) and 0 <= value <= 1):
                raise ValueError(f"`{label}` must lie in [0, 1], but got {value!r}")
        for label, value in (("eta_crossover", eta_crossover), ("eta_mutation", eta_mutation)):
            if not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"`{label}` must be a positive number, but got {value!r}")
        self.population_size, self.max_history = population_size, max_history
        self.crossover_prob = float(crossover_prob)
        self.mutation_prob = 1.0 / max(1, len(space)) if mutation_prob is None else float(mutation_prob)
        self.eta_crossover, self.eta_mutation = float(eta_crossover), float(eta_mutation)
        self.categorical = np.array([p.is_categorical for p in space])
        self.design = QMCDesign(len(space), "sobol", seed=self.seed)
        self._finished: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._seen: set[str] = set()

    def on_job_started(self, job: JobView) -> None:
        """Remember the config so it is not proposed again (a child may copy a parent)."""
        self._seen.add(self.space.key(job.config))

    def observe(self, job: JobView) -> None:
        """Add a finished job (one without ``losses`` is ignored: it has no rank)."""
        if job.losses is not None:
            self._finished[job.number] = (self.space.to_unit(job.config), np.asarray(job.losses, float))

    def propose(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        out: list[Proposal] = []
        parents = self._parents() if len(self._finished) >= self.population_size else None
        taken = self._seen | {self.space.key(job.config) for job in running}
        for i in range(n):
            number = self.n_proposed + i
            kind = "startup" if parents is None else "child"
            config = self._fresh(number, parents, taken)
            taken.add(self.space.key(config))
            out.append(Proposal(config, info={"nsga2": kind}))
        return out

    def _fresh(self, number: int, parents: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
               taken: set[str]) -> Config:
        """Proposal ``number``: a design point or a child, redrawn (a few times) until it is
        a config not run yet: a child that copies its parent, or a duplicate on a finite
        space, teaches nothing."""
        config: Config = {}
        for attempt in range(_TRIES):
            if parents is None:
                config = self.space.from_unit(self.design.points(number + attempt * _DESIGN_STRIDE, 1)[0])
            else:
                config = self._child(np.random.default_rng([self.seed, number, attempt, 0x5EED]), *parents)
            if self.space.key(config) not in taken:
                break
        return config

    def _parents(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unit points, ranks and crowding distances of the surviving population."""
        numbers = sorted(self._finished)[-self.max_history:]
        points = np.array([self._finished[k][0] for k in numbers])
        losses = np.array([self._finished[k][1] for k in numbers])
        keep, rank, crowd = survivors(losses, self.population_size)
        return points[keep], rank, crowd

    def _child(self, rng: np.random.Generator, points: np.ndarray, rank: np.ndarray, crowd: np.ndarray) -> Config:
        first, second = (points[self._tournament(rng, rank, crowd)] for _ in range(2))
        first, second = (np.where(np.isnan(p), rng.random(len(p)), p) for p in (first, second))
        child = first
        if rng.random() < self.crossover_prob:
            child = sbx(rng, first, second, self.eta_crossover)
            swap = rng.random(len(child)) < 0.5
            child = np.where(self.categorical, np.where(swap, second, first), child)
        mutated = polynomial_mutation(rng, child, self.mutation_prob, self.eta_mutation)
        resample = self.categorical & (rng.random(len(child)) < self.mutation_prob)
        child = np.where(self.categorical, np.where(resample, rng.random(len(child)), child), mutated)
        return self.space.from_unit(child)

    @staticmethod
    def _tournament(rng: np.random.Generator, rank: np.ndarray, crowd: np.ndarray) -> int:
        """The better of two random members: lower rank, then larger crowding distance."""
        a, b = (int(k) for k in rng.integers(len(rank), size=2))
        if (rank[a], -crowd[a]) <= (rank[b], -crowd[b]):
            return a
        return b

    def __repr__(self) -> str:
        return (f"NSGA2Proposer(population_size={self.population_size}, finished={len(self._finished)}, "
                f"crossover_prob={self.crossover_prob}, mutation_prob={self.mutation_prob:.3g})")

