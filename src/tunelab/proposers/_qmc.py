"""Space-filling designs (Sobol, Halton, Latin hypercube) through ``scipy.stats.qmc``.

The design is one deterministic sequence of points in the unit cube, fixed by the seed;
the ``k``-th proposal takes point ``k``. The point index is ``n_proposed + i``, so a
resumed run continues the sequence exactly where the serial run would be.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import numpy as np

from tunelab.proposers._base import JobView, Proposal, Proposer
from tunelab.proposers._registry import register
from tunelab.space import Space

METHODS = ("sobol", "halton", "lhs")
_SALT = 0x51C  # keeps the design's stream apart from other uses of the same seed


def _engine_kwargs(cls: type, seed: np.random.Generator) -> dict[str, np.random.Generator]:
    """``rng=`` on recent SciPy, ``seed=`` on older releases."""
    key = "rng" if "rng" in inspect.signature(cls).parameters else "seed"
    return {key: seed}


class QMCDesign:
    """Points of a seeded low-discrepancy sequence, addressed by index.

    Points come in blocks of ``block`` (a power of two keeps Sobol's balance). Sobol and
    Halton blocks are consecutive stretches of one scrambled sequence (``fast_forward``);
    each Latin hypercube block is a fresh design seeded by (seed, block number).

    Args:
        dim: dimension of the unit cube.
        method: ``sobol``, ``halton`` or ``lhs``.
        seed: the seed of the scrambling.
        scramble: randomize the sequence (Sobol and Halton; LHS always centres randomly).
        block: points per block.

    Example:
        >>> design = QMCDesign(2, "sobol", seed=0)
        >>> bool(np.allclose(design.points(3, 2), design.points(0, 5)[3:]))
        True
    """

    def __init__(self, dim: int, method: str = "sobol", *, seed: int = 0, scramble: bool = True,
                 block: int = 64) -> None:
        if method not in METHODS:
            raise ValueError(f"`method` must be one of {', '.join(METHODS)}, but got {method!r}")
        if block < 1 or block & (block - 1):
            raise ValueError(f"`block` must be a power of two, but got {block}")
        self.dim, self.method, self.seed, self.scramble, self.block = max(1, dim), method, seed, scramble, block
        self._cache: tuple[int, np.ndarray] | None = None

    def _generator(self, *extra: int) -> np.random.Generator:
        return np.random.default_rng([_SALT, self.seed, *extra])

    def _block(self, b: int) -> np.ndarray:
        """The ``b``-th block of points, ``(block, dim)``."""
        from scipy.stats import qmc  # imported here: scipy.stats costs a second to import

        if self._cache is not None and self._cache[0] == b:
            return self._cache[1]
        if self.method == "lhs":
            engine = qmc.LatinHypercube(self.dim, **_engine_kwargs(qmc.LatinHypercube, self._generator(b)))
        else:
            cls = qmc.Sobol if self.method == "sobol" else qmc.Halton
            engine = cls(self.dim, scramble=self.scramble, **_engine_kwargs(cls, self._generator()))
            if b:
                engine.fast_forward(b * self.block)
        points = engine.random(self.block)
        self._cache = (b, points)
        return points

    def points(self, start: int, n: int) -> np.ndarray:
        """Points ``start .. start + n - 1`` of the design, ``(n, dim)``."""
        rows = [self._block(k // self.block)[k % self.block] for k in range(start, start + n)]
        return np.array(rows).reshape(n, self.dim)

    def __repr__(self) -> str:
        return f"QMCDesign(dim={self.dim}, method={self.method!r}, seed={self.seed}, scramble={self.scramble})"


@register
class QMCProposer(Proposer):
    """Space-filling search: the ``k``-th job gets point ``k`` of a seeded QMC design.

    Inactive (conditional) coordinates of a point are simply ignored by
    :meth:`Space.from_unit`. Results are ignored: the design is fixed in advance, which
    makes it a strong start and a good baseline for small budgets.

    Args:
        method: ``sobol`` (default), ``halton`` or ``lhs``.
        scramble: randomize the Sobol/Halton sequence with the seed (default True).

    Example:
        >>> from tunelab.space import Space, Float
        >>> p = QMCProposer(Space([Float("x", 0, 1), Float("y", 0, 1)]), seed=0)
        >>> len(p.propose(4, running=[]))
        4
    """

    name = "qmc"
    multi_objective = True

    def __init__(self, space: Space, *, seed: int = 0, method: str = "sobol", scramble: bool = True) -> None:
        super().__init__(space, seed=seed)
        if not isinstance(scramble, bool):
            raise ValueError(f"`scramble` must be true or false, but got {scramble!r}")
        self.design = QMCDesign(len(space), method, seed=self.seed, scramble=scramble)

    def propose(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        points = self.design.points(self.n_proposed, n)
        return [Proposal(self.space.from_unit(point), info={"qmc_index": self.n_proposed + i})
                for i, point in enumerate(points)]

    def observe(self, job: JobView) -> None:
        """A fixed design ignores results."""
