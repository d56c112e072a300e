"""The curve-fitting rule: extrapolate a learning curve and stop hopeless jobs.

The job's losses so far are fitted by a few parametric learning-curve families
(Domhan et al., 2015), each with bounded least squares (:func:`scipy.optimize.curve_fit`,
a bounded number of evaluations, and a deadline). The families' predictions at the
final step are averaged with BIC weights, and the job stops when the prediction is not
at least ``threshold`` as good as the best result of the finished jobs.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from tunelab.proposers._base import FINISHED, JobView
from tunelab.stoppers._base import (
    Decision,
    Stopper,
    check_fraction,
    check_positive_int,
    checkpoint,
    last_step,
    ratio_bound,
)


def _pow3(x: np.ndarray, c: float, a: float, alpha: float) -> np.ndarray:
    return c + a * np.power(x, -alpha)


def _exp3(x: np.ndarray, c: float, a: float, b: float) -> np.ndarray:
    return c + a * np.exp(-b * x)


def _log2(x: np.ndarray, c: float, a: float) -> np.ndarray:
    return c + a * np.log(x)


@dataclass(frozen=True)
class _Family:
    """A learning-curve family on normalised losses (0 = lowest seen, 1 = highest)."""

    name: str
    fn: Callable[..., np.ndarray]
    p0: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]


FAMILIES = (
    _Family("pow3", _pow3, (0.0, 1.0, 0.5), (-10.0, -10.0, 0.0), (10.0, 10.0, 5.0)),
    _Family("exp3", _exp3, (0.0, 1.0, 0.1), (-10.0, -10.0, 0.0), (10.0, 10.0, 5.0)),
    _Family("log2", _log2, (1.0, -0.2), (-10.0, -10.0), (10.0, 10.0)),
)


def predict_final(steps: Sequence[float], losses: Sequence[float], at_step: float, *,
                  max_evals: int = 1000, out_of_time: Callable[[], bool] = lambda: False) -> float | None:
    """Predict the loss at ``at_step`` from a partial learning curve.

    Args:
        steps: steps of the reports (positive).
        losses: losses at those steps.
        at_step: the step to predict (the end of training).
        max_evals: bound on function evaluations of each fit.
        out_of_time: checked before each family; fitting stops early when it says so
            and the families fitted so far are used.

    Returns:
        The BIC-weighted prediction, clipped to ``[min - span, max]`` of the losses so a
        wild extrapolation cannot stop a job on its own; None when nothing could be fitted.

    Example:
        >>> x = np.arange(1, 21)
        >>> round(predict_final(x, 0.2 + 0.8 * np.exp(-0.2 * x), 100), 2)
        0.2
    """
    x = np.asarray(steps, dtype=float)
    y = np.asarray(losses, dtype=float)
    low, span = float(y.min()), float(np.ptp(y))
    if span == 0.0:
        return low
    z = (y - low) / span
    predictions, scores = [], []
    for family in FAMILIES:
        if out_of_time():
            break
        fitted = _fit(family, x, z, max_evals)
        if fitted is None:
            continue
        params, sse = fitted
        predictions.append(float(family.fn(np.array([at_step], dtype=float), *params)[0]))
        scores.append(len(x) * math.log(max(sse, 1e-12) / len(x)) + len(params) * math.log(len(x)))
    if not predictions:
        return None
    weights = np.exp(-0.5 * (np.array(scores) - min(scores)))
    z_final = float(np.dot(weights, predictions) / weights.sum())
    return low + span * min(max(z_final, -1.0), 1.0)


def _fit(family: _Family, x: np.ndarray, z: np.ndarray, max_evals: int) -> tuple[np.ndarray, float] | None:
    """Least-squares parameters and residual sum of squares, or None if the fit fails."""
    if len(x) <= len(family.p0):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            params, _ = curve_fit(family.fn, x, z, p0=family.p0, bounds=(family.lower, family.upper),
                                  max_nfev=max_evals)
    except (RuntimeError, ValueError):
        return None
    residual = family.fn(x, *params) - z
    sse = float(np.dot(residual, residual))
    return (params, sse) if math.isfinite(sse) else None


def best_finished(history: Sequence[JobView]) -> float | None:
    """The lowest loss any finished job reached (final or intermediate), or None."""
    values = [v for j in history if j.status == FINISHED
              for v in ([j.loss] if j.loss is not None else []) + [loss for _, loss in j.intermediate]]
    finite = [v for v in values if math.isfinite(v)]
    return min(finite) if finite else None


class CurveFittingStopper(Stopper):
    """Stops a job whose extrapolated final loss is not at least ``threshold`` as good as
    the best loss of the finished jobs (see :func:`~tunelab.stoppers._base.ratio_bound`).

    Args:
        max_step: the step training ends at, where the curve is extrapolated to.
        start_step: no decision before this step (and at least 4 reports are needed).
        threshold: the ratio in (0, 1]; higher stops more.
        interval_steps: evaluate at multiples of this step.
        timeout: seconds allowed for one prediction; the families fitted by then are used.
        max_evals: bound on function evaluations of each fit.

    Example:
        >>> from tunelab.proposers import JobView
        >>> best = JobView(0, {}, "finished", 0.1, intermediate=[(50, 0.1)])
        >>> curve = [(t, 0.5 + 0.5 * math.exp(-0.3 * t)) for t in range(1, 11)]
        >>> CurveFittingStopper(max_step=50).decide(JobView(1, {}, intermediate=curve), [best])
        <Decision.STOP: 'stop'>
    """

    name = "curve_fitting"

    def __init__(self, *, max_step: int, start_step: int = 6, threshold: float = 0.95, interval_steps: int = 1,
                 timeout: float = 60.0, max_evals: int = 1000) -> None:
        self.max_step = check_positive_int("max_step", max_step)
        self.start_step = check_positive_int("start_step", start_step, minimum=0)
        self.threshold = check_fraction("threshold", threshold, closed=True)
        self.interval_steps = check_positive_int("interval_steps", interval_steps)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"`timeout` must be a positive number of seconds, but got {timeout!r}")
        self.timeout = float(timeout)
        self.max_evals = check_positive_int("max_evals", max_evals)

    def decide(self, job: JobView, history: Sequence[JobView]) -> Decision:
        step = checkpoint(job, self.interval_steps, self.start_step)
        if step is None or last_step(job) >= self.max_step or len(job.intermediate) < 4:
            return Decision.CONTINUE
        best = best_finished([j for j in history if j.number != job.number])
        if best is None:
            return Decision.CONTINUE
        deadline = time.monotonic() + self.timeout
        steps, losses = zip(*job.intermediate)
        predicted = predict_final(steps, losses, self.max_step, max_evals=self.max_evals,
                                  out_of_time=lambda: time.monotonic() > deadline)
        if predicted is None or predicted <= ratio_bound(best, self.threshold):
            return Decision.CONTINUE
        return Decision.STOP

    def __repr__(self) -> str:
        return (f"CurveFittingStopper(max_step={self.max_step}, start_step={self.start_step}, "
                f"threshold={self.threshold}, interval_steps={self.interval_steps}, timeout={self.timeout}, "
                f"max_evals={self.max_evals})")
