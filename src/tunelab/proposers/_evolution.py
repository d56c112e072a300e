"""Regularized (aging) evolution, after Real et al. 2019, "Regularized Evolution for Image
Classifier Architecture Search".

The population is the ``population_size`` most recent finished jobs (by job number, so
it is the same after a resume). Each child comes from a tournament: draw ``sample_size``
members uniformly, mutate the best. Old members leave the population however good they
were (aging), which keeps the search exploring and is robust to noisy results.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tunelab.proposers._base import JobView, Proposal, Proposer
from tunelab.proposers._qmc import QMCDesign
from tunelab.proposers._registry import register
from tunelab.proposers._tpe.estimator import truncnorm_sample
from tunelab.space import Config, Space

_MAX_TRIES = 10  # mutations tried per child before accepting a repeat


class EvolutionCore:
    """The pure aging-evolution rule over unit-cube points (NaN = inactive).

    Args:
        categorical: per dimension, True for unordered choices (mutated by resampling).
        n_values: per dimension, the number of distinct values (``inf`` if continuous).
        population_size: members kept, the newest finished jobs.
        sample_size: tournament size.
        mutation_scale: the largest gaussian step in the unit cube; each mutation uses a
            step log-uniform in ``[scale / 10, scale]`` so both coarse and fine moves happen.

    Example:
        >>> core = EvolutionCore(np.array([False]), np.array([np.inf]), population_size=2, sample_size=2)
        >>> core.add(0, np.array([0.2]), 1.0); core.add(1, np.array([0.8]), 0.5)
        >>> core.tournament(np.random.default_rng(0))
        1
    """

    def __init__(self, categorical: np.ndarray, n_values: np.ndarray, *, population_size: int = 20,
                 sample_size: int = 5, mutation_scale: float = 0.2) -> None:
        self.categorical = np.asarray(categorical, bool)
        self.n_values = np.asarray(n_values, float)
        self.population_size, self.sample_size, self.mutation_scale = population_size, sample_size, mutation_scale
        self._finished: dict[int, tuple[np.ndarray, float]] = {}

    def add(self, number: int, point: np.ndarray, loss: float) -> None:
        """Record the result of job ``number`` at unit point ``point``."""
        self._finished[number] = (np.asarray(point, float), float(loss))

    def point(self, number: int) -> np.ndarray:
        """The unit point of finished job ``number``."""
        return self._finished[number][0]

    @property
    def population(self) -> list[int]:
        """Job numbers of the current members, oldest first."""
        return sorted(self._finished)[-self.population_size:]

    @property
    def is_full(self) -> bool:
        """True once there are ``population_size`` finished jobs."""
        return len(self._finished) >= self.population_size

    def tournament(self, rng: np.random.Generator) -> int:
        """The job number of the best of ``sample_size`` members drawn without replacement."""
        members = self.population
        drawn = rng.choice(len(members), size=min(self.sample_size, len(members)), replace=False)
        contenders = [members[i] for i in drawn]
        return min(contenders, key=lambda k: (self._finished[k][1], k))

    def mutate(self, rng: np.random.Generator, parent: np.ndarray) -> np.ndarray:
        """A child of ``parent``: each mutable dimension changes with probability ``1/d``
        (at least one does); numeric ones take a gaussian step, choices a different value."""
        mutable = ~np.isnan(parent) & (self.n_values > 1)
        child = parent.copy()
        if not mutable.any():
            return child
        chosen = mutable & (rng.random(len(parent)) < 1.0 / mutable.sum())
        if not chosen.any():
            chosen[rng.choice(np.flatnonzero(mutable))] = True
        scale = self.mutation_scale * 10.0 ** -rng.random()
        stepped = truncnorm_sample(rng, np.nan_to_num(parent, nan=0.5), scale)
        shift = rng.integers(1, np.maximum(self.n_values, 2).clip(max=2**31 - 1))
        categories = np.where(self.categorical, self.n_values, 1)
        index = np.floor(np.nan_to_num(parent, nan=0.5) * categories)
        resampled = ((index + shift) % categories + 0.5) / categories
        child[chosen] = np.where(self.categorical, resampled, stepped)[chosen]
        return child

    def __repr__(self) -> str:
        members = self.population
        losses = [self._finished[k][1] for k in members]
        best = min(losses) if losses else None
        return (f"EvolutionCore(finished={len(self._finished)}, population={len(members)}/{self.population_size}, "
                f"sample_size={self.sample_size}, best_in_population={best})")


@register
class EvolutionProposer(Proposer):
    """Regularized evolution: tournament selection, mutation, aging.

    Until ``population_size`` jobs have finished, proposals come from a scrambled Sobol
    design (the initial population). Children activate conditional parameters with
    uniform draws. Parallel children in one batch and running jobs are kept distinct by
    re-mutating repeats (up to 10 tries). Failed jobs never join the population.

    Args:
        population_size: members kept (NNI's name; default 20).
        sample_size: tournament size (default ``max(2, population_size // 4)``).
        mutation_scale: largest gaussian step in the unit cube (default 0.2).

    Example:
        >>> from tunelab.space import Space, Float
        >>> p = EvolutionProposer(Space([Float("x", 0, 1)]), seed=0)
        >>> len(p.propose(2, running=[]))
        2
    """

    name = "evolution"

    def __init__(self, space: Space, *, seed: int = 0, population_size: int = 20, sample_size: int | None = None,
                 mutation_scale: float = 0.2) -> None:
        super().__init__(space, seed=seed)
        if not isinstance(population_size, int) or population_size < 2:
            raise ValueError(f"`population_size` must be an integer >= 2, but got {population_size!r}")
        sample_size = max(2, population_size // 4) if sample_size is None else sample_size
        if not isinstance(sample_size, int) or not 1 <= sample_size <= population_size:
            raise ValueError(f"`sample_size` must be an integer in [1, population_size={population_size}], "
                             f"but got {sample_size!r}")
        if not isinstance(mutation_scale, (int, float)) or not 0 < mutation_scale <= 1:
            raise ValueError(f"`mutation_scale` must lie in (0, 1], but got {mutation_scale!r}")
        self.core = EvolutionCore(np.array([p.is_categorical for p in space]),
                                  np.array([p.cardinality for p in space], dtype=float),
                                  population_size=population_size, sample_size=sample_size,
                                  mutation_scale=float(mutation_scale))
        self.design = QMCDesign(len(space), "sobol", seed=self.seed)

    def _child(self, rng: np.random.Generator, taken: set[str]) -> tuple[Config, int]:
        """A mutated config not in ``taken`` (after a few tries), and its parent's number."""
        parent_number = self.core.tournament(rng)
        parent = self.core.point(parent_number)
        config: Config = {}
        for _ in range(_MAX_TRIES):
            child = self.core.mutate(rng, parent)
            child = np.where(np.isnan(child), rng.random(len(child)), child)
            config = self.space.from_unit(child)
            if self.space.key(config) not in taken:
                break
        return config, parent_number

    def propose(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        taken = {self.space.key(job.config) for job in running}
        out: list[Proposal] = []
        for i in range(n):
            if not self.core.is_full:
                config = self.space.from_unit(self.design.points(self.n_proposed + i, 1)[0])
                info: dict[str, int] = {}
            else:
                config, parent = self._child(self.rng(i), taken)
                info = {"parent": parent}
            taken.add(self.space.key(config))
            out.append(Proposal(config, info=info))
        return out

    def observe(self, job: JobView) -> None:
        self.core.add(job.number, self.space.to_unit(job.config), float(job.loss))  # type: ignore[arg-type]
