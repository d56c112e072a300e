"""Asynchronous successive halving as a stopper (ASHA pruning; DeepHyper's stopper).

Rungs sit at steps ``min_steps * reduction_factor**k`` below ``max_steps``. When a job's
report reaches a rung, it goes on only if its loss there is among the best
``max(1, n // reduction_factor)`` of the ``n`` jobs that reached the rung so far (itself
included). Nothing waits: a job is judged against whoever got there first (Li et al., 2020).
"""

from __future__ import annotations

from collections.abc import Sequence

from tunelab.proposers._base import FINISHED, JobView
from tunelab.stoppers._base import Decision, Stopper, check_positive_int, last_step, others, previous_step, value_at


class SuccessiveHalvingStopper(Stopper):
    """Stops a job that is not in the top ``1 / reduction_factor`` at a rung it reaches.

    Args:
        min_steps: the first rung's step.
        max_steps: the step training ends at; rungs lie below it.
        reduction_factor: eta, the ratio between rungs and the fraction kept (>= 2).
        min_competing: no stop until this many other jobs reached the rung.
        min_fully_completed: no stop until this many jobs finished.

    Example:
        >>> from tunelab.proposers import JobView
        >>> rivals = [JobView(i, {}, "finished", 0.0, intermediate=[(1, float(i))]) for i in range(3)]
        >>> rule = SuccessiveHalvingStopper(min_steps=1, max_steps=9)
        >>> rule.decide(JobView(7, {}, intermediate=[(1, 1.5)]), rivals)
        <Decision.STOP: 'stop'>
        >>> rule.rungs
        [1, 3]
    """

    name = "successive_halving"

    def __init__(self, *, min_steps: int = 1, max_steps: int, reduction_factor: int = 3, min_competing: int = 0,
                 min_fully_completed: int = 0) -> None:
        self.min_steps = check_positive_int("min_steps", min_steps)
        self.max_steps = check_positive_int("max_steps", max_steps)
        self.reduction_factor = check_positive_int("reduction_factor", reduction_factor, minimum=2)
        self.min_competing = check_positive_int("min_competing", min_competing, minimum=0)
        self.min_fully_completed = check_positive_int("min_fully_completed", min_fully_completed, minimum=0)
        if self.min_steps >= self.max_steps:
            raise ValueError(f"`min_steps < max_steps` must hold, but got ({min_steps}, {max_steps})")
        self.rungs: list[int] = []
        step = self.min_steps
        while step < self.max_steps:
            self.rungs.append(step)
            step *= self.reduction_factor

    def rung_crossed(self, job: JobView) -> int | None:
        """The highest rung step the latest report just reached, or None."""
        crossed = [r for r in self.rungs if previous_step(job) < r <= last_step(job)]
        return crossed[-1] if crossed else None

    def decide(self, job: JobView, history: Sequence[JobView]) -> Decision:
        rung = self.rung_crossed(job)
        if rung is None:
            return Decision.CONTINUE
        if sum(j.status == FINISHED for j in history) < self.min_fully_completed:
            return Decision.CONTINUE
        pool = others(job, history, rung)
        if len(pool) < self.min_competing:
            return Decision.CONTINUE
        mine = value_at(job, rung)
        better = sum(value_at(j, rung) < mine for j in pool)
        keep = max(1, (len(pool) + 1) // self.reduction_factor)
        return Decision.STOP if better >= keep else Decision.CONTINUE

    def __repr__(self) -> str:
        return (f"SuccessiveHalvingStopper(min_steps={self.min_steps}, max_steps={self.max_steps}, "
                f"reduction_factor={self.reduction_factor}, min_competing={self.min_competing}, "
                f"min_fully_completed={self.min_fully_completed}, rungs={self.rungs})")
