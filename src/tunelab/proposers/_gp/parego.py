"""ParEGO (Knowles, 2006): the GP proposer on a random scalarisation per proposal.

Each proposal draws weights uniformly from the simplex, scales every objective to
``[0, 1]`` over the finished jobs, and gives the GP the augmented Chebyshev
scalarisation ``max_i(w_i f_i) + rho * sum_i(w_i f_i)``; the GP then proposes as in
single-objective search. Over many proposals the weights sweep the whole front, as
DeepHyper's multi-objective CBO does with its random scalarisations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tunelab.proposers._base import JobView, Proposal
from tunelab.proposers._gp.proposer import GPProposer
from tunelab.proposers._registry import register
from tunelab.space import Config, Space

RHO = 0.05
"""Weight of the sum in the augmented Chebyshev scalarisation (Knowles's value): it
breaks the ties of the max between weakly dominated points."""

_WEIGHTS_SALT = 0xC4EB


def chebyshev(losses: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Augmented Chebyshev scalarisation of scaled losses, one value per row.

    Example:
        >>> chebyshev(np.array([[0.0, 1.0], [0.5, 0.5]]), np.array([0.5, 0.5])).round(3).tolist()
        [0.525, 0.275]
    """
    weighted = losses * weights
    return weighted.max(axis=1) + RHO * weighted.sum(axis=1)


@register
class ParEGOProposer(GPProposer):
    """Multi-objective Bayesian optimisation: the ``gp`` proposer on random augmented
    Chebyshev scalarisations (see the module). Takes the options of ``gp``.

    Example:
        >>> from tunelab.space import Space, Float
        >>> p = ParEGOProposer(Space([Float("x", 0, 1)]), seed=0, n_initial=2)
        >>> len(p.propose(2, running=[]))
        2
    """

    name = "parego"
    multi_objective = True
    thompson_every = 0
    """Log EI only: its scalarisation changes at every proposal, and Thompson draws were
    measured on single objectives only."""

    def __init__(self, space: Space, *, seed: int = 0, n_initial: int | None = None,
                 batch_strategy: str = "believer", max_points: int = 300) -> None:
        super().__init__(space, seed=seed, n_initial=n_initial, batch_strategy=batch_strategy,
                         max_points=max_points)
        self._vectors: dict[int, tuple[Config, np.ndarray]] = {}

    def observe(self, job: JobView) -> None:
        """Keep the job's losses; jobs without them count as failed."""
        if job.losses is None:
            self._history.fail(job)
        else:
            self._vectors[job.number] = (job.config, np.asarray(job.losses, float))

    def weights(self, index: int) -> np.ndarray:
        """The scalarisation weights of proposal ``index`` (uniform on the simplex)."""
        m = len(next(iter(self._vectors.values()))[1])
        return np.random.default_rng([self.seed, index, _WEIGHTS_SALT]).dirichlet(np.ones(m))

    def _scalarise(self, weights: np.ndarray) -> None:
        """Hand the GP each finished job's scalarised loss under ``weights``."""
        numbers = sorted(self._vectors)
        losses = np.array([self._vectors[k][1] for k in numbers])
        low, high = losses.min(axis=0), losses.max(axis=0)
        values = chebyshev((losses - low) / np.where(high > low, high - low, 1.0), weights)
        self._history.finished = {k: (self._vectors[k][0], float(v)) for k, v in zip(numbers, values, strict=True)}

    def propose(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        """Proposals one at a time, each under its own weights; the earlier ones of the
        batch count as running."""
        out: list[Proposal] = []
        base = self.n_proposed
        try:
            for i in range(n):
                self.n_proposed = base + i
                if self._vectors:
                    self._scalarise(self.weights(self.n_proposed))
                pending = [*running, *(JobView(-1, p.config) for p in out)]
                out += super().propose(1, pending)
        finally:
            self.n_proposed = base
        return out
