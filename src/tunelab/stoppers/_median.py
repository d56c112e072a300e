"""The median rule: stop a job that does worse than the median of the others.

One rule covers the variants users know, told apart by three options:

* Optuna's MedianPruner (the native ``median``): the job's best loss so far against
  the median of finished jobs' losses at the same step.
* Google Vizier / NNI ``Medianstop``: the job's best so far against the median of the
  finished jobs' running averages.
* Auptimizer ``median``: the job's running average against the median of every other
  job's running average.
* DeepHyper ``MedianStopper``: the job's latest loss against the median of every other
  job's loss at the same step.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from tunelab.proposers._base import JobView
from tunelab.stoppers._base import STATISTICS, Decision, Stopper, check_positive_int, checkpoint, others


class MedianStopper(Stopper):
    """Stops a job whose statistic at an evaluation step is worse than the others' median.

    Args:
        n_startup_jobs: no decision until this many other jobs reached the step.
        n_warmup_steps: no decision before this step.
        interval_steps: evaluate at multiples of this step.
        own: the job's statistic: ``best`` (lowest loss so far), ``average`` (running
            average) or ``last`` (loss at the step).
        others: the other jobs' statistic, same choices.
        finished_only: compare only with jobs that finished (not running or stopped ones).

    Example:
        >>> from tunelab.proposers import JobView
        >>> done = [JobView(i, {}, "finished", 1.0, intermediate=[(1, 1.0)]) for i in range(5)]
        >>> MedianStopper().decide(JobView(9, {}, intermediate=[(1, 2.0)]), done)
        <Decision.STOP: 'stop'>
    """

    name = "median"

    def __init__(self, *, n_startup_jobs: int = 5, n_warmup_steps: int = 0, interval_steps: int = 1,
                 own: str = "best", others: str = "last", finished_only: bool = True) -> None:
        self.n_startup_jobs = check_positive_int("n_startup_jobs", n_startup_jobs, minimum=1)
        self.n_warmup_steps = check_positive_int("n_warmup_steps", n_warmup_steps, minimum=0)
        self.interval_steps = check_positive_int("interval_steps", interval_steps)
        for label, value in (("own", own), ("others", others)):
            if value not in STATISTICS:
                raise ValueError(f"`{label}` must be one of {sorted(STATISTICS)}, but got {value!r}")
        self.own, self.others, self.finished_only = own, others, bool(finished_only)

    def decide(self, job: JobView, history: Sequence[JobView]) -> Decision:
        step = checkpoint(job, self.interval_steps, self.n_warmup_steps)
        if step is None:
            return Decision.CONTINUE
        pool = others(job, history, step, finished_only=self.finished_only)
        if len(pool) < self.n_startup_jobs:
            return Decision.CONTINUE
        median = statistics.median(STATISTICS[self.others](j, step) for j in pool)
        mine = STATISTICS[self.own](job, step)
        return Decision.STOP if mine > median else Decision.CONTINUE

    def __repr__(self) -> str:
        return (f"MedianStopper(n_startup_jobs={self.n_startup_jobs}, n_warmup_steps={self.n_warmup_steps}, "
                f"interval_steps={self.interval_steps}, own={self.own!r}, others={self.others!r}, "
                f"finished_only={self.finished_only})")
