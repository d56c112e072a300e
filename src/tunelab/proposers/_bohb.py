"""BOHB (Falkner et al., 2018): Hyperband whose new configs come from a KDE model.

Per budget, the results are split into the best ``top_n_percent`` ("good") and the rest
("bad"); a product-kernel density is fitted to each in the unit cube. A new config is the
best of ``num_samples`` candidates drawn around good points (bandwidths widened by
``bandwidth_factor``), ranked by the density ratio good/bad. The model uses the largest
budget with enough results; a ``random_fraction`` of configs stay random.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tunelab.proposers._base import JobView
from tunelab.proposers._halving import check_budgets, check_eta, rung_budgets
from tunelab.proposers._hyperband import HalvingBrackets
from tunelab.proposers._registry import register
from tunelab.space import Config, Space

_MAX_POINTS = 500  # per density: caps the cost of an ask as the history grows


class ParzenKDE:
    """A product-kernel density in the unit cube: Gaussian kernels for ordered dimensions,
    Aitchison-Aitken kernels for categorical ones (``cards[d] > 0`` values).

    Bandwidths follow the normal reference rule ``1.06 * std * n**-0.2``, at least
    ``min_bandwidth`` (categorical ones at most ``(c - 1) / c``).

    Args:
        points: ``(n, d)`` data in the unit cube (categorical columns as value indices).
        cards: per dimension, the number of categories, or 0 when ordered.
        min_bandwidth: the lower bound on every bandwidth.

    Example:
        >>> kde = ParzenKDE(np.array([[0.2], [0.25], [0.3]]), [0], 1e-3)
        >>> bool(kde.pdf(np.array([[0.25]]))[0] > kde.pdf(np.array([[0.9]]))[0])
        True
    """

    def __init__(self, points: np.ndarray, cards: Sequence[int], min_bandwidth: float) -> None:
        self.points = np.asarray(points, dtype=float)
        self.cards = np.asarray(cards, dtype=int)
        n = len(self.points)
        rule = 1.06 * self.points.std(axis=0) * n ** -0.2
        top = np.where(self.cards > 0, (self.cards - 1) / np.maximum(self.cards, 1), np.inf)
        self.bandwidth = np.minimum(np.maximum(rule, min_bandwidth), top)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """The density at each row of ``x`` (up to a constant factor per dimension)."""
        diff = x[:, None, :] - self.points[None, :, :]
        bw = self.bandwidth
        gauss = np.exp(-0.5 * (diff / bw) ** 2) / bw
        cards = np.maximum(self.cards, 2)
        cat = np.where(diff == 0, 1 - bw, bw / (cards - 1))
        kernel = np.where(self.cards > 0, cat, gauss)
        return np.prod(kernel, axis=2).mean(axis=1)

    def sample_around(self, rng: np.random.Generator, count: int, widen: float) -> np.ndarray:
        """``count`` points, each near a random data point, bandwidths times ``widen``."""
        centers = self.points[rng.integers(len(self.points), size=count)]
        bw = np.minimum(self.bandwidth * widen, 1.0)
        out = centers.copy()
        for d, card in enumerate(self.cards):
            if card > 0:
                switch = rng.random(count) < np.minimum(bw[d], (card - 1) / card)
                out[switch, d] = rng.integers(card, size=int(switch.sum()))
                continue
            a, b = (0 - centers[:, d]) / bw[d], (1 - centers[:, d]) / bw[d]
            out[:, d] = _truncnorm().rvs(a, b, loc=centers[:, d], scale=bw[d], random_state=rng)
        return out

    def __repr__(self) -> str:
        return f"ParzenKDE(n={len(self.points)}, bandwidth={np.round(self.bandwidth, 4).tolist()})"


def _thin(rows: np.ndarray, cap: int) -> np.ndarray:
    """At most ``cap`` rows, evenly spread over the given (rank) order."""
    if len(rows) <= cap:
        return rows
    return rows[np.linspace(0, len(rows) - 1, cap).round().astype(int)]


@register
class BOHBProposer(HalvingBrackets):
    """Hyperband brackets between ``min_budget`` and ``max_budget``, configs from KDEs.

    Args:
        min_budget: the smallest budget.
        max_budget: the largest budget (a full training).
        eta: the downsampling rate.
        min_points_in_model: results a budget needs before its model is used (it needs
            two more); None or ``""`` means ``len(space) + 1``.
        top_n_percent: the percentage of results that are "good".
        num_samples: candidates scored per new config.
        random_fraction: the fraction of configs drawn at random (exploration).
        bandwidth_factor: how much wider than the model's the sampling kernels are.
        min_bandwidth: the lower bound on every bandwidth, so the model keeps exploring.
        iterations: passes over all brackets; None repeats until the run's budget ends.

    Example:
        >>> from tunelab.space import Float
        >>> bohb = BOHBProposer(Space([Float("x", 0, 1)]), seed=0, min_budget=1, max_budget=9)
        >>> [p.budget for p in bohb.propose(3, running=[])]
        [1, 1, 1]
    """

    name = "bohb"

    def __init__(self, space: Space, *, seed: int = 0, min_budget: float = 1, max_budget: float = 81,
                 eta: float = 3, min_points_in_model: int | str | None = None, top_n_percent: float = 15,
                 num_samples: int = 64, random_fraction: float = 1 / 3, bandwidth_factor: float = 3,
                 min_bandwidth: float = 1e-3, iterations: int | None = None) -> None:
        eta = check_eta(eta)
        low, high = check_budgets(min_budget, max_budget)
        super().__init__(space, seed=seed, budgets=rung_budgets(low, high, eta), eta=eta, iterations=iterations)
        if min_points_in_model in (None, ""):
            min_points_in_model = len(space) + 1
        checks: list[tuple[str, Any, bool]] = [
            ("min_points_in_model", min_points_in_model,
             isinstance(min_points_in_model, int) and min_points_in_model >= 1),
            ("top_n_percent", top_n_percent, isinstance(top_n_percent, (int, float)) and 0 < top_n_percent < 100),
            ("num_samples", num_samples, isinstance(num_samples, int) and num_samples >= 1),
            ("random_fraction", random_fraction, isinstance(random_fraction, (int, float)) and 0 <= random_fraction <= 1),
            ("bandwidth_factor", bandwidth_factor, isinstance(bandwidth_factor, (int, float)) and bandwidth_factor > 0),
            ("min_bandwidth", min_bandwidth, isinstance(min_bandwidth, (int, float)) and min_bandwidth > 0),
        ]
        for label, value, ok in checks:
            if not ok or isinstance(value, bool):
                raise ValueError(f"`{label}` is out of range, got {value!r}; see the BOHB options' documentation")
        self.min_points = int(min_points_in_model)  # type: ignore[arg-type]
        self.top_n_percent, self.num_samples = float(top_n_percent), num_samples
        self.random_fraction, self.bandwidth_factor = float(random_fraction), float(bandwidth_factor)
        self.min_bandwidth = float(min_bandwidth)
        self.cards = [len(p.choices) if p.is_categorical else 0 for p in space]  # type: ignore[attr-defined]

    def _encode(self, config: Config) -> np.ndarray:
        """The config in the unit cube, categorical columns as indices, inactive ones at 0.5."""
        x = np.nan_to_num(self.space.to_unit(config), nan=0.5)
        for d, card in enumerate(self.cards):
            if card:
                x[d] = min(int(x[d] * card), card - 1)
        return x

    def _decode(self, x: np.ndarray) -> Config:
        u = np.array([(v + 0.5) / card if card else v for v, card in zip(x, self.cards)])
        return self.space.from_unit(u)

    def model(self) -> tuple[ParzenKDE, ParzenKDE] | None:
        """The good and bad densities of the largest budget with enough results, or None."""
        for budget in sorted(self._results, reverse=True):
            jobs = [j for j in self._results[budget] if j.loss is not None and np.isfinite(j.loss)]
            if len(jobs) < self.min_points + 2:
                continue
            jobs.sort(key=lambda j: (j.loss, j.number))
            n_good = max(self.min_points, int(self.top_n_percent * len(jobs) / 100))
            n_bad = max(self.min_points, int((100 - self.top_n_percent) * len(jobs) / 100))
            x = np.array([self._encode(j.config) for j in jobs])
            good, bad = x[:n_good], x[n_good:][:n_bad]
            if len(bad) < 2:
                continue
            return (ParzenKDE(_thin(good, _MAX_POINTS), self.cards, self.min_bandwidth),
                    ParzenKDE(_thin(bad, _MAX_POINTS), self.cards, self.min_bandwidth))
        return None

    def _draw(self, count: int, running: Sequence[JobView]) -> list[Config]:
        out = []
        for i in range(count):
            rng = np.random.default_rng([self.seed, self._n_new + i, 0xB0B])
            densities = None if rng.random() < self.random_fraction else self.model()
            if densities is None:
                out.append(self.space.sample(rng))
                continue
            good, bad = densities
            candidates = good.sample_around(rng, self.num_samples, self.bandwidth_factor)
            with np.errstate(over="ignore"):  # a ratio of inf still ranks the candidate first
                score = good.pdf(candidates) / np.maximum(bad.pdf(candidates), 1e-300)
            out.append(self._decode(candidates[int(np.argmax(score))]))
        return out


def _truncnorm() -> Any:
    """scipy's truncated normal, imported on first use (scipy.stats is slow to import)."""
    from scipy.stats import truncnorm

    return truncnorm
