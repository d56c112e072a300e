"""The stopper interface and the curve helpers every rule shares.

A stopper looks at a running job's intermediate values (``(step, loss)`` pairs, already
signed to MINIMIZE) and at every job of the experiment, and says whether the job should
go on. It keeps no state: the decision is a function of the history the engine passes,
so nothing needs restoring on resume.
"""

from __future__ import annotations

import abc
import bisect
import enum
import math
from collections.abc import Sequence
from typing import ClassVar

from tunelab.proposers._base import FINISHED, JobView


class Decision(enum.Enum):
    """What the engine should do with a running job."""

    CONTINUE = "continue"
    STOP = "stop"


class Stopper(abc.ABC):
    """An early-stopping rule over intermediate values.

    The engine calls :meth:`decide` after each intermediate report of a running job and
    stops the job on :attr:`Decision.STOP`; only the engine touches executors.

    Example:
        >>> NeverStop().decide(JobView(0, {}, intermediate=[(1, 0.5)]), history=[])
        <Decision.CONTINUE: 'continue'>
    """

    name: ClassVar[str] = ""

    @abc.abstractmethod
    def decide(self, job: JobView, history: Sequence[JobView]) -> Decision:
        """Whether ``job`` should continue, given every job of the experiment.

        Args:
            job: the running job that just reported; ``job.intermediate`` is sorted by step.
            history: all jobs (finished, stopped, failed, running), possibly including ``job``.
        """


class NeverStop(Stopper):
    """The no-op rule: every job runs to its end."""

    name = "never"

    def decide(self, job: JobView, history: Sequence[JobView]) -> Decision:
        return Decision.CONTINUE


def check_positive_int(label: str, value: object, minimum: int = 1) -> int:
    """``value`` as an int ``>= minimum``; ``ValueError`` naming the option otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < minimum:
        raise ValueError(f"`{label}` must be an integer >= {minimum}, but got {value!r}")
    return int(value)


def check_fraction(label: str, value: object, *, closed: bool = False) -> float:
    """``value`` as a float in (0, 1) (or (0, 1] when ``closed``); ``ValueError`` otherwise."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not (0 < value <= 1 if closed else 0 < value < 1):
        interval = "(0, 1]" if closed else "(0, 1)"
        raise ValueError(f"`{label}` must lie in {interval}, but got {value!r}")
    return float(value)


def last_step(job: JobView) -> int:
    """The step of the job's latest report (0 before any)."""
    return job.intermediate[-1][0] if job.intermediate else 0


def previous_step(job: JobView) -> int:
    """The step of the report before the latest one (0 when there is none)."""
    return job.intermediate[-2][0] if len(job.intermediate) > 1 else 0


def checkpoint(job: JobView, interval: int, warmup: int = 0) -> int | None:
    """The evaluation step the latest report just crossed, or None.

    Rules evaluate every ``interval`` steps, at multiples of ``interval`` that are
    ``>= warmup``. A report that jumps over such a step (reports need not come at every
    step) evaluates at the largest one crossed, so no evaluation point is missed.
    """
    if not job.intermediate:
        return None
    step = (last_step(job) // interval) * interval
    if step < max(warmup, 1) or step <= previous_step(job):
        return None
    return step


def _upto(job: JobView, step: int) -> list[float]:
    """Losses the job reported at steps ``<= step``."""
    steps = [s for s, _ in job.intermediate]
    return [v for _, v in job.intermediate[:bisect.bisect_right(steps, step)]]


def reached(job: JobView, step: int) -> bool:
    """True when the job reported at ``step`` or later."""
    return bool(job.intermediate) and job.intermediate[-1][0] >= step


def value_at(job: JobView, step: int) -> float:
    """The job's latest loss reported at a step ``<= step`` (NaN if none)."""
    values = _upto(job, step)
    return values[-1] if values else math.nan


def best_upto(job: JobView, step: int) -> float:
    """The job's lowest loss reported at steps ``<= step`` (NaN if none)."""
    values = _upto(job, step)
    return min(values) if values else math.nan


def average_upto(job: JobView, step: int) -> float:
    """The running average of the job's losses at steps ``<= step`` (NaN if none)."""
    values = _upto(job, step)
    return sum(values) / len(values) if values else math.nan


STATISTICS = {"last": value_at, "best": best_upto, "average": average_upto}


def others(job: JobView, history: Sequence[JobView], step: int, *, finished_only: bool = False) -> list[JobView]:
    """Jobs other than ``job`` that reported up to ``step`` (finished ones only if asked)."""
    return [j for j in history
            if j.number != job.number and reached(j, step) and (j.status == FINISHED or not finished_only)]


def ratio_bound(best: float, ratio: float) -> float:
    """The worst loss still "at least ``ratio`` as good as" ``best``.

    For a loss from a maximized metric (negative, e.g. ``-accuracy``) that is
    ``ratio * best``; for a positive loss it is ``(2 - ratio) * best``. So ``ratio=0.9``
    allows 90% of the best accuracy, or 110% of the best error, as Auptimizer's bandit
    and curve-fitting rules and NNI's curve-fitting threshold mean it.
    """
    return ratio * best if best < 0 else (2.0 - ratio) * best
