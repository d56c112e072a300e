"""The observations a model-based proposer learns from, with a bounded training set."""

from __future__ import annotations

import math

import numpy as np

from tunelab.proposers._base import JobView
from tunelab.space import Config


def select_subset(numbers: np.ndarray, losses: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of at most ``cap`` observations: the best third, the most recent third, random others.

    Keeps the model's cost bounded however long the history grows, while it still sees
    the good region (best), where the search is now (recent) and the rest (random).
    """
    if len(losses) <= cap:
        return np.arange(len(losses))
    third = cap // 3
    keep = set(np.argsort(losses, kind="stable")[:third].tolist())
    keep |= set(np.argsort(-numbers, kind="stable")[:third].tolist())
    rest = np.array(sorted(set(range(len(losses))) - keep), dtype=int)
    keep |= set(rng.choice(rest, cap - len(keep), replace=False).tolist())
    return np.array(sorted(keep), dtype=int)


class ModelHistory:
    """Finished and failed jobs by proposal number, as a surrogate model's training set.

    Failed jobs are kept so the model learns to avoid their region: they enter the
    training set at the worst loss seen.
    """

    def __init__(self) -> None:
        self.finished: dict[int, tuple[Config, float]] = {}
        self.failed: dict[int, Config] = {}

    def observe(self, job: JobView) -> None:
        """Add a job that ended with a result."""
        if job.loss is not None and math.isfinite(job.loss):
            self.finished[job.number] = (job.config, float(job.loss))

    def fail(self, job: JobView) -> None:
        """Add a job that ended without a result."""
        self.failed[job.number] = job.config

    def training_set(self, cap: int, rng: np.random.Generator) -> tuple[list[Config], np.ndarray]:
        """At most ``cap`` configs and their losses (failures at the worst finished loss)."""
        numbers = sorted(self.finished)
        configs = [self.finished[k][0] for k in numbers]
        losses = [self.finished[k][1] for k in numbers]
        worst = max(losses)
        for k in sorted(self.failed):
            numbers.append(k)
            configs.append(self.failed[k])
            losses.append(worst)
        loss_arr = np.array(losses)
        keep = select_subset(np.array(numbers), loss_arr, cap, rng)
        return [configs[i] for i in keep], loss_arr[keep]
