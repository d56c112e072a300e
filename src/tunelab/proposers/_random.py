"""Random search: independent samples from the space's prior."""

from __future__ import annotations

from collections.abc import Sequence

from tunelab.proposers._base import JobView, Proposal, Proposer
from tunelab.proposers._registry import register


@register
class RandomProposer(Proposer):
    """Samples every config independently; the baseline every search must beat.

    Example:
        >>> from tunelab.space import Space, Float
        >>> p = RandomProposer(Space([Float("x", 0, 1)]), seed=0)
        >>> len(p.propose(3, running=[]))
        3
    """

    name = "random"
    multi_objective = True

    def propose(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        return [Proposal(self.space.sample(self.rng_for_job(self.n_proposed + i))) for i in range(n)]

    def observe(self, job: JobView) -> None:
        """Random search ignores results."""
