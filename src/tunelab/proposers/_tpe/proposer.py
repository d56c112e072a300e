"""Tree-structured Parzen Estimator (Bergstra et al. 2011), univariate and multivariate.

Finished jobs are split by loss into a small "good" group and the rest ("bad"). Two
Parzen estimators model them, ``l(x)`` and ``g(x)``; candidates are drawn from ``l`` and
the one maximizing ``l(x) / g(x)`` (equivalent to expected improvement) is proposed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from tunelab.proposers._base import JobView, Proposal, Proposer
from tunelab.proposers._qmc import QMCDesign
from tunelab.proposers._registry import register
from tunelab.proposers._tpe.estimator import Bandwidth, ParzenEstimator
from tunelab.space import Config, Float, Space

_TRIES = 64
"""Draws tried for a config not yet taken, on a finite space."""


def forgetting_weights(count: int, keep: int) -> np.ndarray:
    """Weights of ``count`` points ordered oldest first: the ``keep`` newest weigh 1 and
    older ones ramp linearly down to ``1/count`` (hyperopt's linear forgetting).

    Example:
        >>> forgetting_weights(4, 2).tolist()
        [0.25, 1.0, 1.0, 1.0]
    """
    if keep <= 0 or count <= keep:
        return np.ones(count)
    return np.concatenate([np.linspace(1.0 / count, 1.0, count - keep), np.ones(keep)])


class TPECore:
    """The pure TPE model: observations in, one proposed config out.

    Observations are kept per job number, so the state does not depend on the order they
    were told in (a replayed history gives the same model as the live run).

    Args:
        space: the search space.
        gamma: fraction of finished jobs in the good group, ``ceil(gamma * n)``.
        max_good: cap on the good group's size.
        n_ei_candidates: candidates drawn from ``l(x)`` per proposal.
        multivariate: one joint estimator (captures interactions) rather than one per
            parameter.
        prior_weight: weight of the uniform prior component, relative to one observation.
        consider_endpoints: the width rule counts the bounds as neighbours.
        forget_after: within a group, only the newest this many jobs weigh fully.
        max_history: most jobs in the bad group (the newest are kept), bounding the cost.
    """

    def __init__(self, space: Space, *, gamma: float = 0.1, max_good: int = 25, n_ei_candidates: int = 24,
                 multivariate: bool = True, prior_weight: float = 1.0, consider_endpoints: bool = False,
                 forget_after: int = 25, max_history: int = 1000) -> None:
        self.space = space
        self.gamma, self.max_good, self.n_ei_candidates = gamma, max_good, n_ei_candidates
        self.multivariate, self.prior_weight = multivariate, prior_weight
        self.consider_endpoints, self.forget_after, self.max_history = consider_endpoints, forget_after, max_history
        params = list(space)
        self.dims = np.array([i for i, p in enumerate(params) if p.cardinality > 1], dtype=int)
        self.n_categories = np.array([len(params[i].choices) if params[i].is_categorical else 0  # type: ignore[attr-defined]
                                      for i in self.dims], dtype=int)
        self.min_sigma = np.array([0.0 if math.isinf(params[i].cardinality) or self.n_categories[k]
                                   else 0.5 / params[i].cardinality for k, i in enumerate(self.dims)])
        self._plain = not space.is_conditional and all(
            isinstance(params[i], Float) and params[i].step is None and params[i].q is None for i in self.dims)
        self._finished: dict[int, tuple[np.ndarray, float]] = {}
        self._failed: dict[int, np.ndarray] = {}
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    # --- observations -----------------------------------------------------------------

    def encode(self, config: Config) -> np.ndarray:
        """Model coordinates of a config: unit values, category indices, NaN if inactive."""
        unit = self.space.to_unit(config)[self.dims]
        cats = self.n_categories > 0
        unit[cats] = np.floor(unit[cats] * self.n_categories[cats])
        return unit

    def decode(self, x: np.ndarray) -> Config:
        """The config of model coordinates (unmodelled constants filled in)."""
        unit = np.full(len(self.space), 0.5)
        cats = self.n_categories > 0
        values = np.where(np.isnan(x), 0.5, x)
        values[cats] = (values[cats] + 0.5) / self.n_categories[cats]
        unit[self.dims] = values
        return self.space.from_unit(unit)

    def add(self, number: int, config: Config, loss: float | None) -> None:
        """Record job ``number``; ``loss=None`` marks a failure (counted as bad)."""
        if loss is None:
            self._failed[number] = self.encode(config)
        else:
            self._finished[number] = (self.encode(config), float(loss))
        self._arrays = None

    @property
    def n_finished(self) -> int:
        """Number of jobs with a result."""
        return len(self._finished)

    def _stacked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Numbers, points and losses of finished jobs, in job-number order (cached)."""
        if self._arrays is None:
            numbers = np.array(sorted(self._finished), dtype=int)
            points = np.array([self._finished[k][0] for k in numbers]).reshape(len(numbers), len(self.dims))
            losses = np.array([self._finished[k][1] for k in numbers], dtype=float)
            self._arrays = (numbers, points, losses)
        return self._arrays

    def split(self, pending: Sequence[np.ndarray] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Good points and weights, bad points and weights.

        The good group is the ``min(ceil(gamma * n), max_good)`` lowest losses (ties by
        job number). The bad group is the rest (newest ``max_history`` kept), plus failed
        jobs and ``pending`` points (running jobs, proposals of this batch) as constant
        liars, so parallel proposals move away from each other.
        """
        numbers, points, losses = self._stacked()
        n_good = max(1, min(math.ceil(self.gamma * len(numbers)), self.max_good))
        ranked = np.lexsort((numbers, losses))
        good = np.sort(ranked[:n_good])
        bad = np.sort(ranked[n_good:])[-self.max_history:]
        failed = [self._failed[k] for k in sorted(self._failed)][-self.max_history:]
        liars = np.array(failed + list(pending)).reshape(-1, len(self.dims))
        bad_points = np.vstack([points[bad], liars])
        bad_weights = np.concatenate([forgetting_weights(len(bad), self.forget_after), np.ones(len(liars))])
        return points[good], forgetting_weights(len(good), self.forget_after), bad_points, bad_weights

    # --- suggestion -------------------------------------------------------------------

    def _estimator(self, points: np.ndarray, weights: np.ndarray, dims: np.ndarray | slice) -> ParzenEstimator:
        return ParzenEstimator(points[:, dims], weights, self.n_categories[dims], self.min_sigma[dims],
                               prior_weight=self.prior_weight,
                               bandwidth=Bandwidth(consider_endpoints=self.consider_endpoints))

    def suggest(self, rng: np.random.Generator, pending: Sequence[np.ndarray] = ()) -> Config:
        """The config maximizing ``l(x) / g(x)`` among ``n_ei_candidates`` draws from ``l``.

        Args:
            rng: the random generator.
            pending: model coordinates of configs being evaluated (constant liars).
        """
        good, good_w, bad, bad_w = self.split(pending)
        if self.multivariate:
            return self.decode(self._suggest_joint(rng, good, good_w, bad, bad_w))
        return self.decode(self._suggest_independent(rng, good, good_w, bad, bad_w))

    def _snap(self, points: np.ndarray) -> np.ndarray:
        """Model coordinates of the configs the points stand for: discrete values snapped,
        inactive coordinates NaN. On a flat space of plain floats this is just clipping."""
        if self._plain:
            return np.clip(points, 0.0, 1.0)
        return np.array([self.encode(self.decode(x)) for x in points]).reshape(points.shape)

    def _suggest_joint(self, rng: np.random.Generator, good: np.ndarray, good_w: np.ndarray,
                       bad: np.ndarray, bad_w: np.ndarray) -> np.ndarray:
        everything = slice(None)
        below, above = self._estimator(good, good_w, everything), self._estimator(bad, bad_w, everything)
        candidates = self._snap(below.sample(rng, self.n_ei_candidates))
        scores = below.log_pdf(candidates) - above.log_pdf(candidates)
        return candidates[int(np.argmax(scores))]

    def _suggest_independent(self, rng: np.random.Generator, good: np.ndarray, good_w: np.ndarray,
                             bad: np.ndarray, bad_w: np.ndarray) -> np.ndarray:
        best = np.empty(len(self.dims))
        params = list(self.space)
        for k, dim in enumerate(self.dims):
            good_on, bad_on = ~np.isnan(good[:, k]), ~np.isnan(bad[:, k])
            below = self._estimator(good[good_on], good_w[good_on], slice(k, k + 1))
            above = self._estimator(bad[bad_on], bad_w[bad_on], slice(k, k + 1))
            drawn = below.sample(rng, self.n_ei_candidates)[:, 0]
            if not self.n_categories[k]:
                param = params[dim]
                drawn = np.array([param.to_unit(param.from_unit(u)) for u in drawn])
            scores = below.log_pdf(drawn[:, None]) - above.log_pdf(drawn[:, None])
            best[k] = drawn[int(np.argmax(scores))]
        return best

    def __repr__(self) -> str:
        return (f"TPECore(n_finished={len(self._finished)}, n_failed={len(self._failed)}, dims={len(self.dims)}, "
                f"gamma={self.gamma}, max_good={self.max_good}, n_ei_candidates={self.n_ei_candidates}, "
                f"multivariate={self.multivariate}, prior_weight={self.prior_weight})")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@register
class TPEProposer(Proposer):
    """Tree-structured Parzen Estimator search.

    The first ``n_startup_jobs`` proposals come from a scrambled Sobol design (space
    filling beats plain random for the same count); after that TPE models the finished
    jobs. Running jobs, the batch's own earlier proposals and failed jobs join the bad
    group as constant liars, so parallel proposals differ and failing regions are avoided.
    Conditional parameters are modelled exactly (see :mod:`.estimator`).

    Args:
        n_startup_jobs: finished jobs needed before modelling (default ``max(10, 2 * d)``).
        gamma: fraction of finished jobs in the good group (default 0.1).
        max_good: cap on the good group's size (default 25).
        n_ei_candidates: candidates scored per proposal (default 24).
        multivariate: one joint density (default) or one per parameter.
        prior_weight: weight of the uniform prior component (default 1.0).
        consider_endpoints: kernel widths count the bounds as neighbours.
        forget_after: the newest this many jobs of a group weigh fully, older ones less.
        max_history: most jobs in the bad group; bounds the time per proposal.

    Example:
        >>> from tunelab.space import Space, Float
        >>> p = TPEProposer(Space([Float("x", 0, 1)]), seed=0)
        >>> len(p.propose(2, running=[]))
        2
    """

    name = "tpe"
    core_class: ClassVar[type[TPECore]] = TPECore
    """The model; the multi-objective TPE swaps in its own split of good and bad jobs."""

    def __init__(self, space: Space, *, seed: int = 0, n_startup_jobs: int | None = None, gamma: float = 0.1,
                 max_good: int = 25, n_ei_candidates: int = 24, multivariate: bool = True,
                 prior_weight: float = 1.0, consider_endpoints: bool = False, forget_after: int = 25,
                 max_history: int = 1000) -> None:
        super().__init__(space, seed=seed)
        n_startup_jobs = max(10, 2 * len(space)) if n_startup_jobs is None else n_startup_jobs
        _check(isinstance(n_startup_jobs, int) and n_startup_jobs >= 1,
               f"`n_startup_jobs` must be an integer >= 1, but got {n_startup_jobs!r}")
        _check(isinstance(gamma, (int, float)) and 0 < gamma < 1, f"`gamma` must lie in (0, 1), but got {gamma!r}")
        for label, value in (("max_good", max_good), ("n_ei_candidates", n_ei_candidates),
                             ("max_history", max_history)):
            _check(isinstance(value, int) and value >= 1, f"`{label}` must be an integer >= 1, but got {value!r}")
        _check(isinstance(forget_after, int) and forget_after >= 0,
               f"`forget_after` must be an integer >= 0 (0 turns forgetting off), but got {forget_after!r}")
        _check(isinstance(prior_weight, (int, float)) and prior_weight > 0,
               f"`prior_weight` must be a positive number, but got {prior_weight!r}")
        for label, flag in (("multivariate", multivariate), ("consider_endpoints", consider_endpoints)):
            _check(isinstance(flag, bool), f"`{label}` must be true or false, but got {flag!r}")
        self.n_startup_jobs = n_startup_jobs
        self.core = self.core_class(space, gamma=float(gamma), max_good=max_good, n_ei_candidates=n_ei_candidates,
                            multivariate=multivariate, prior_weight=float(prior_weight),
                            consider_endpoints=consider_endpoints, forget_after=forget_after,
                            max_history=max_history)
        self.design = QMCDesign(len(space), "sobol", seed=self.seed)
        self._finite = math.isfinite(space.cardinality)
        self._seen: set[str] = set()

    def propose(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        pending = [self.core.encode(job.config) for job in running]
        taken = self._seen | {self.space.key(job.config) for job in running} if self._finite else set()
        out: list[Proposal] = []
        for i in range(n):
            if self.core.n_finished < self.n_startup_jobs:
                config = self._startup(self.n_proposed + i, taken)
                info: dict[str, Any] = {"tpe": "startup"}
            else:
                config = self._model(i, pending, taken)
                info = {"tpe": "model"}
            pending.append(self.core.encode(config))
            if self._finite:
                taken.add(self.space.key(config))
            out.append(Proposal(config, info=info))
        return out

    def _startup(self, index: int, taken: set[str]) -> Config:
        """Design point ``index``, or on a finite space the next design point not yet taken."""
        points = self.design.points(index, _TRIES if self._finite else 1)
        for point in points:
            config = self.space.from_unit(point)
            if self.space.key(config) not in taken:
                return config
        return self._unseen(self.rng(_TRIES + index), taken, self.space.from_unit(points[0]))

    def _model(self, i: int, pending: list[np.ndarray], taken: set[str]) -> Config:
        """TPE's suggestion; on a finite space, one not taken yet (a few redraws, then random)."""
        config = self.core.suggest(self.rng(i), pending)
        for attempt in range(1, 4):
            if self.space.key(config) not in taken:
                return config
            config = self.core.suggest(self.rng(i + attempt * _TRIES), pending)
        return self._unseen(self.rng(i + 4 * _TRIES), taken, config)

    def _unseen(self, rng: np.random.Generator, taken: set[str], fallback: Config) -> Config:
        """A random config not in ``taken`` (``fallback`` if none is found quickly)."""
        if self.space.key(fallback) not in taken:
            return fallback
        for _ in range(_TRIES):
            config = self.space.sample(rng)
            if self.space.key(config) not in taken:
                return config
        return fallback

    def on_job_started(self, job: JobView) -> None:
        """On a finite space, remember the config so it is not proposed again."""
        if self._finite:
            self._seen.add(self.space.key(job.config))

    def observe(self, job: JobView) -> None:
        self.core.add(job.number, job.config, job.loss)

    def on_job_failed(self, job: JobView) -> None:
        """A failed job joins the bad group, steering away from configs that crash."""
        self.core.add(job.number, job.config, None)
