"""The bandit rule (Auptimizer): stop a job far from the best job at the same step."""

from __future__ import annotations

from collections.abc import Sequence

from tunelab.proposers._base import JobView
from tunelab.stoppers._base import (
    Decision,
    Stopper,
    best_upto,
    check_fraction,
    check_positive_int,
    checkpoint,
    others,
    ratio_bound,
)


class BanditStopper(Stopper):
    """Stops a job whose best loss so far is not at least ``factor`` as good as the best
    loss any other job reached by the same step.

    "As good as" is :func:`~tunelab.stoppers._base.ratio_bound`: with ``factor=0.5`` a job
    is stopped below half the best accuracy, or above 150% of the best error. Higher
    factors stop more, as in Auptimizer's ``bandit_factor``.

    Args:
        factor: the ratio in (0, 1].
        interval_steps: evaluate at multiples of this step.
        n_warmup_steps: no decision before this step.

    Example:
        >>> from tunelab.proposers import JobView
        >>> best = JobView(0, {}, "finished", -0.9, intermediate=[(1, -0.9)])
        >>> BanditStopper(factor=0.5).decide(JobView(1, {}, intermediate=[(1, -0.4)]), [best])
        <Decision.STOP: 'stop'>
    """

    name = "bandit"

    def __init__(self, *, factor: float = 0.5, interval_steps: int = 1, n_warmup_steps: int = 0) -> None:
        self.factor = check_fraction("factor", factor, closed=True)
        self.interval_steps = check_positive_int("interval_steps", interval_steps)
        self.n_warmup_steps = check_positive_int("n_warmup_steps", n_warmup_steps, minimum=0)

    def decide(self, job: JobView, history: Sequence[JobView]) -> Decision:
        step = checkpoint(job, self.interval_steps, self.n_warmup_steps)
        if step is None:
            return Decision.CONTINUE
        pool = others(job, history, step)
        if not pool:
            return Decision.CONTINUE
        best = min(best_upto(j, step) for j in pool)
        return Decision.STOP if best_upto(job, step) > ratio_bound(best, self.factor) else Decision.CONTINUE

    def __repr__(self) -> str:
        return (f"BanditStopper(factor={self.factor}, interval_steps={self.interval_steps}, "
                f"n_warmup_steps={self.n_warmup_steps})")
