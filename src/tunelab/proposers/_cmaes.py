"""CMA-ES (Hansen's covariance matrix adaptation) through the ``cmaes`` library.

CMA-ES learns a full covariance of good steps, so it shines on continuous, correlated,
badly scaled problems once it has a few generations to adapt.

Encoding: every numeric parameter (float, int, ordinal; log and step included) is one
coordinate of the unit cube through :meth:`Space.to_unit`/:meth:`Space.from_unit`. An
unordered choice of ``k`` values is ``k`` one-hot coordinates decoded by argmax, so CMA
never pretends choices are ordered. Inactive conditional parameters keep coordinates
that simply go unused. CMA runs on ``[0, 1]^d`` with those bounds.

Resume: a generation's solutions are a function of the seed, the generation number and
the solutions and losses told before, because the CMA's sampler is reseeded from
``(seed, generation)`` and a whole generation is asked at once. Each proposal carries
``{"cma_generation": g, "cma_index": i}`` in ``Proposal.info``; replaying the history
files every result under its slot and tells each generation once all of its slots have
ended, exactly as the live run did.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from tunelab.proposers._base import JobView, Proposal, Proposer
from tunelab.proposers._registry import register
from tunelab.space import Config, Space

if TYPE_CHECKING:
    from cmaes import CMA

_GEN, _INDEX = "cma_generation", "cma_index"


def _seed32(*parts: int) -> int:
    """A 32-bit seed derived from integers (``RandomState`` inside ``cmaes`` needs one)."""
    return int(np.random.default_rng(list(parts)).integers(2**32 - 1))


class CMAESCore:
    """Generations of a bounded CMA-ES in ``[0, 1]^dim``, fed by job slots.

    A generation has ``popsize`` slots, asked all at once when it begins. Results are
    filed by ``(generation, slot)``; a generation is told when every slot has ended
    (failed slots count as worse than the worst result). When the CMA reports it has
    converged, it restarts with a doubled population around a random mean (IPOP).

    Args:
        dim: number of coordinates (padded to at least 2).
        seed: the seed of every generation's sampling.
        popsize: solutions per generation (default ``4 + floor(3 ln dim)``).
        sigma0: initial step size in the unit cube.

    Example:
        >>> core = CMAESCore(2, seed=0, popsize=4)
        >>> for i in range(4):
        ...     core.file(0, i, float(np.sum((core.solution(0, i) - 0.3) ** 2)))
        >>> core.generation
        1
    """

    def __init__(self, dim: int, *, seed: int, popsize: int | None = None, sigma0: float = 0.3) -> None:
        self.dim = max(2, dim)
        self.seed, self.sigma0 = seed, sigma0
        self.popsize = popsize or 4 + math.floor(3 * math.log(self.dim))
        self.generation = 0
        self.restarts = 0
        self._cma = self._new_cma(np.full(self.dim, 0.5))
        self._solutions = self._ask_all()
        self._results: dict[tuple[int, int], float | None] = {}

    def _new_cma(self, mean: np.ndarray) -> CMA:
        from cmaes import CMA  # lazy: cmaes imports scipy, slow for every CLI start

        bounds = np.tile([0.0, 1.0], (self.dim, 1))
        return CMA(mean=mean, sigma=self.sigma0, bounds=bounds, population_size=self.popsize,
                   seed=_seed32(self.seed, self.restarts))

    def _ask_all(self) -> list[np.ndarray]:
        self._cma.reseed_rng(_seed32(self.seed, self.generation, 1))
        return [self._cma.ask() for _ in range(self.popsize)]

    def solution(self, generation: int, index: int) -> np.ndarray:
        """The point of slot ``index`` in the current ``generation``."""
        if generation != self.generation:
            raise ValueError(f"generation {generation} is not the current one ({self.generation})")
        return self._solutions[index]

    def extra(self, seed: int) -> np.ndarray:
        """One more draw from the current distribution (for parallel slots beyond ``popsize``)."""
        self._cma.reseed_rng(seed)
        return self._cma.ask()

    def file(self, generation: int, index: int, loss: float | None) -> None:
        """Record slot ``(generation, index)``'s result (``None``: failed) and tell
        complete generations; slots of past generations are ignored."""
        if generation < self.generation:
            return
        self._results.setdefault((generation, index), loss)
        while all((self.generation, i) in self._results for i in range(self.popsize)):
            self._tell()

    def _tell(self) -> None:
        losses = [self._results.pop((self.generation, i)) for i in range(self.popsize)]
        finite = [v for v in losses if v is not None]
        worst = max(finite) + (max(finite) - min(finite)) + 1.0 if finite else 0.0
        self._cma.tell([(x, worst if v is None else v) for x, v in zip(self._solutions, losses, strict=True)])
        self.generation += 1
        if self._cma.should_stop():
            self.restarts += 1
            self.popsize *= 2
            mean = np.random.default_rng([self.seed, self.generation, 2]).uniform(0.25, 0.75, self.dim)
            self._cma = self._new_cma(mean)
        self._solutions = self._ask_all()
        self._results = {k: v for k, v in self._results.items() if k[0] >= self.generation}

    def __repr__(self) -> str:
        filed = sum(1 for g, _ in self._results if g == self.generation)
        return (f"CMAESCore(dim={self.dim}, generation={self.generation}, popsize={self.popsize}, "
                f"filed={filed}/{self.popsize}, restarts={self.restarts})")


class _OneHotCodec:
    """Maps CMA coordinates to configs: one coordinate per numeric parameter, ``k``
    one-hot coordinates (argmax) per unordered choice, none for constants."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self.slices: list[tuple[int, int, int]] = []  # (param position, first coordinate, width)
        start = 0
        for position, param in enumerate(space):
            if param.cardinality <= 1:
                continue
            width = int(param.cardinality) if param.is_categorical else 1
            self.slices.append((position, start, width))
            start += width
        self.dim = start

    def decode(self, x: np.ndarray) -> Config:
        unit = np.full(len(self.space), 0.5)
        for position, start, width in self.slices:
            if width == 1:
                unit[position] = x[start]
            else:
                unit[position] = (int(np.argmax(x[start:start + width])) + 0.5) / width
        return self.space.from_unit(unit)


@register
class CMAESProposer(Proposer):
    """CMA-ES search (bounded, with IPOP restarts); choices are one-hot with argmax.

    Parallel: a proposal batch takes free slots of the current generation; when every
    slot is taken but the generation has not ended, extra draws from the current
    distribution fill free workers (marked ``cma_extra``; they are not told to CMA).
    Failed jobs count as worse than the generation's worst.

    Args:
        popsize: solutions per generation (default ``4 + floor(3 ln d)``).
        sigma0: initial step size in the unit cube (default 0.3).

    Example:
        >>> from tunelab.space import Space, Float
        >>> p = CMAESProposer(Space([Float("x", 0, 1), Float("y", 0, 1)]), seed=0)
        >>> [q.info["cma_index"] for q in p.propose(2, running=[])]
        [0, 1]
    """

    name = "cmaes"

    def __init__(self, space: Space, *, seed: int = 0, popsize: int | None = None, sigma0: float = 0.3) -> None:
        super().__init__(space, seed=seed)
        if popsize is not None and (not isinstance(popsize, int) or popsize < 4):
            raise ValueError(f"`popsize` must be an integer >= 4 (CMA's weights need it), but got {popsize!r}")
        if not isinstance(sigma0, (int, float)) or not 0 < sigma0 <= 1:
            raise ValueError(f"`sigma0` must lie in (0, 1] (the unit cube), but got {sigma0!r}")
        self.codec = _OneHotCodec(space)
        self.core = CMAESCore(self.codec.dim, seed=self.seed, popsize=popsize, sigma0=float(sigma0))
        self._taken: set[tuple[int, int]] = set()

    def propose(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        generation = self.core.generation
        free = [i for i in range(self.core.popsize) if (generation, i) not in self._taken]
        out = [Proposal(self.codec.decode(self.core.solution(generation, i)), info={_GEN: generation, _INDEX: i})
               for i in free[:n]]
        for k in range(n - len(out)):
            x = self.core.extra(_seed32(self.seed, self.n_proposed, k, 3))
            out.append(Proposal(self.codec.decode(x), info={_GEN: generation, "cma_extra": True}))
        return out

    def on_job_started(self, job: JobView) -> None:
        if _INDEX in job.info:
            self._taken.add((int(job.info[_GEN]), int(job.info[_INDEX])))

    def _file(self, job: JobView, loss: float | None) -> None:
        if _INDEX not in job.info:
            return
        self.core.file(int(job.info[_GEN]), int(job.info[_INDEX]), loss)
        self._taken = {slot for slot in self._taken if slot[0] >= self.core.generation}

    def observe(self, job: JobView) -> None:
        self._file(job, job.loss)

    def on_job_failed(self, job: JobView) -> None:
        """A failed slot counts as worse than the generation's worst result."""
        self._file(job, None)
