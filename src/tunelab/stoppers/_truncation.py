"""The truncation rule (Auptimizer): stop the worst fraction of jobs at each evaluation."""

from __future__ import annotations

import math
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
)


class TruncationStopper(Stopper):
    """Stops a job whose best loss so far ranks in the worst ``percentage`` of the jobs
    that reached the same step (the job included).

    With ``n`` jobs compared, the ``floor(n * percentage)`` worst are stopped; a job tied
    with others counts as the best of its tie, so ties never stop a job.

    Args:
        percentage: the fraction of jobs cut at each evaluation, in (0, 1).
        interval_steps: evaluate at multiples of this step.
        n_warmup_steps: no decision before this step.
        n_startup_jobs: no decision until this many other jobs reached the step.

    Example:
        >>> from tunelab.proposers import JobView
        >>> pool = [JobView(i, {}, "finished", float(i), intermediate=[(1, float(i))]) for i in range(3)]
        >>> TruncationStopper(percentage=0.3).decide(JobView(9, {}, intermediate=[(1, 5.0)]), pool)
        <Decision.STOP: 'stop'>
    """

    name = "truncation"

    def __init__(self, *, percentage: float = 0.3, interval_steps: int = 1, n_warmup_steps: int = 0,
                 n_startup_jobs: int = 1) -> None:
        self.percentage = check_fraction("percentage", percentage)
        self.interval_steps = check_positive_int("interval_steps", interval_steps)
        self.n_warmup_steps = check_positive_int("n_warmup_steps", n_warmup_steps, minimum=0)
        self.n_startup_jobs = check_positive_int("n_startup_jobs", n_startup_jobs)

    def decide(self, job: JobView, history: Sequence[JobView]) -> Decision:
        step = checkpoint(job, self.interval_steps, self.n_warmup_steps)
        if step is None:
            return Decision.CONTINUE
        pool = others(job, history, step)
        if len(pool) < self.n_startup_jobs:
            return Decision.CONTINUE
        mine = best_upto(job, step)
        better = sum(best_upto(j, step) < mine for j in pool)
        cut = math.floor((len(pool) + 1) * self.percentage)
        return Decision.STOP if better >= len(pool) + 1 - cut else Decision.CONTINUE

    def __repr__(self) -> str:
        return (f"TruncationStopper(percentage={self.percentage}, interval_steps={self.interval_steps}, "
                f"n_warmup_steps={self.n_warmup_steps}, n_startup_jobs={self.n_startup_jobs})")
