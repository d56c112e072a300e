"""Log expected improvement and its maximisation over a mixed space.

Expected improvement (minimisation) is ``EI = s h(z)`` with ``z = (best - mean) / s`` and
``h(z) = phi(z) + z Phi(z)``. Far from the incumbent ``h`` underflows to 0 and EI's
gradient vanishes, which stalls gradient search. Following Ament et al. (2023,
"Unexpected improvements to expected improvement"), ``log h`` is computed directly:
for ``z > -1`` from its definition, below that as
``-z^2/2 - log(2 pi)/2 + log1mexp(log(erfcx(-z/sqrt2) |z|) + log(pi/2)/2)``, which is
finite and accurate down to ``z ~ -1e150``; beyond ``-1/sqrt(eps)`` the asymptote
``-z^2/2 - log(2 pi)/2 - 2 log|z|`` is used.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize, special

from tunelab.proposers._gp.encoding import UnitEncoder
from tunelab.proposers._gp.model import GaussianProcess

_C1 = 0.5 * np.log(2.0 * np.pi)
_C2 = 0.5 * np.log(np.pi / 2.0)
_TAIL = -1.0 / np.sqrt(np.finfo(float).eps)

AcqFn = Callable[..., tuple[np.ndarray, np.ndarray | None]]
"""``fn(z, gradient=False) -> (values, gradients or None)`` over snapped ``Z`` rows."""


def _log1mexp(a: np.ndarray) -> np.ndarray:
    """``log(1 - exp(a))`` for ``a < 0``, accurate at both ends (Mächler, 2012)."""
    a = np.minimum(a, -1e-300)
    return np.where(a > -np.log(2.0), np.log(-np.expm1(a)), np.log1p(-np.exp(a)))


def log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z Phi(z))``, finite for every finite ``z``."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(special.ndtr(zu) * zu + np.exp(-0.5 * zu * zu - _C1))
    mid = ~upper & (z > _TAIL)
    zm = z[mid]
    out[mid] = -0.5 * zm * zm - _C1 + _log1mexp(np.log(special.erfcx(-zm / np.sqrt(2.0)) * np.abs(zm)) + _C2)
    tail = z <= _TAIL
    zt = z[tail]
    out[tail] = -0.5 * zt * zt - _C1 - 2.0 * np.log(np.abs(zt))
    return out


def log_ei(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """Log expected improvement below ``best``."""
    return np.log(std) + log_h((best - mean) / std)


def log_ei_grad(mean: np.ndarray, std: np.ndarray, best: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log EI with its partial derivatives with respect to ``mean`` and ``std``.

    ``d log h / dz = Phi(z) / h(z)``, taken as ``exp(log Phi - log h)`` so it stays
    finite in the tail (it tends to ``-z``).
    """
    z = (best - mean) / std
    lh = log_h(z)
    ratio = np.exp(special.log_ndtr(z) - lh)
    return np.log(std) + lh, -ratio / std, (1.0 - ratio * z) / std


def log_ei_function(gp: GaussianProcess, encoder: UnitEncoder, best: float) -> AcqFn:
    """Log EI over snapped ``Z`` rows, with its gradient along the continuous columns."""
    cols = encoder.continuous_features

    def evaluate(z: np.ndarray, gradient: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        post = gp.predict(encoder.features(z), gradient=gradient)
        if not gradient:
            return log_ei(post.mean, post.std, best), None
        value, d_mean, d_std = log_ei_grad(post.mean, post.std, best)
        grad = np.zeros_like(z)
        if len(cols):
            feature_grad = d_mean[:, None] * post.dmean + d_std[:, None] * post.dstd
            active = encoder.active(z)[:, encoder.continuous]
            grad[:, encoder.continuous] = feature_grad[:, cols] * active
        return value, grad

    return evaluate


def gradient_ascent(fn: AcqFn, starts: np.ndarray, free: np.ndarray, scales: np.ndarray,
                    low: np.ndarray, high: np.ndarray, maxiter: int = 100) -> np.ndarray:
    """Maximise ``fn`` from every row of ``starts`` along the columns ``free``, within ``[low, high]``
    (one bound per column, or one row of bounds per start).

    Each start runs its own L-BFGS-B, so one start's convergence (or a poor curvature
    estimate) does not hold up the others. The search moves ``z / scales`` (the length
    scales of the ``free`` columns) rather than ``z``: the kernel depends on distances
    divided by the length scales, so in these coordinates the acquisition has similar
    curvature along every axis and the quasi-Newton steps are well scaled from the start.
    """
    out = starts.copy()
    if len(free) == 0:
        return out
    lows, highs = np.broadcast_to(low, out.shape), np.broadcast_to(high, out.shape)
    for row, row_low, row_high in zip(out, lows, highs, strict=True):
        bounds = list(zip(row_low[free] / scales, row_high[free] / scales))

        def negative(u: np.ndarray, row: np.ndarray = row) -> tuple[float, np.ndarray]:
            z = row.copy()
            z[free] = u * scales
            value, grad = fn(z[None, :], gradient=True)
            return -float(value[0]), -grad[0, free] * scales

        result = optimize.minimize(negative, row[free] / scales, jac=True, method="L-BFGS-B", bounds=bounds,
                                   options={"maxiter": maxiter})
        row[free] = np.clip(result.x * scales, row_low[free], row_high[free])
    return out


def exchange_search(fn: AcqFn, encoder: UnitEncoder, z: np.ndarray, value: float,
                    rng: np.random.Generator, rounds: int = 4) -> tuple[np.ndarray, float]:
    """Improve one row by changing one discrete coordinate at a time (best move first)."""
    for _ in range(rounds):
        if len(encoder.discrete) == 0:
            break
        moves = np.vstack([encoder.neighbours(z, j, rng) for j in encoder.discrete])
        moves = encoder.snap(moves)
        values = fn(moves)[0]
        best = int(np.argmax(values))
        if not values[best] > value + 1e-12:
            break
        z, value = moves[best], float(values[best])
    return z, value


class AcquisitionOptimizer:
    """Many-start maximisation of an acquisition over snapped unit points in a box.

    Candidates are random points of the box plus perturbations of the best observed
    points at several radii (local exploitation), plus *lines*: the best point with one
    continuous coordinate redrawn over its whole range, box or not, plus, in spaces with
    unordered choices, random points *elsewhere*: with other choices than the best
    point's and their numbers anywhere. The best few, and the best observed point itself
    (as Optuna's GPSampler does), start L-BFGS-B along the continuous coordinates (in the
    box, or anywhere for a start with other choices); the best three then take exchange
    steps along the discrete ones (which, like the lines, may go anywhere in a
    parameter's range).

    The box keeps the search near the best point, but a config with other choices is not
    near it, and the best numbers of another choice are often elsewhere (another
    optimizer wants another learning rate). Confined to the box, such a config looks
    poor and the search stays with the first good choice it found; on a problem whose
    best model has the narrowest basin (``benchmarks/extra_problems.py``, model_choice)
    the median log10 regret at 100 jobs went from -1.30 to -3.2 with these points.

    Lines let the search leave a local basin one coordinate at a time. On objectives
    whose coordinates act nearly independently (often the case for hyperparameters),
    the box can settle where some coordinates sit in the wrong basin; moving all of them
    at once is hopeless, moving one is a one-dimensional question the GP answers well.

    Args:
        encoder: the space's encoder.
        n_random: number of random candidates.
        n_local: number of perturbations around the incumbents.
        n_lines: number of one-coordinate moves of the best point (0: none).
        n_elsewhere: number of random draws for the points elsewhere (spaces with choices).
        n_starts: number of gradient starts taken from the candidates.
    """

    def __init__(self, encoder: UnitEncoder, n_random: int = 1024, n_local: int = 512, n_lines: int = 256,
                 n_elsewhere: int = 1024, n_starts: int = 8) -> None:
        self.encoder = encoder
        self.n_random, self.n_local, self.n_lines, self.n_starts = n_random, n_local, n_lines, n_starts
        self.n_elsewhere = n_elsewhere

    def candidates(self, incumbents: np.ndarray, rng: np.random.Generator,
                   low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Snapped random and local candidates inside ``[low, high]``."""
        dim = self.encoder.dim
        pool = [low + (high - low) * rng.random((self.n_random, dim))]
        if len(incumbents):
            centres = incumbents[rng.integers(len(incumbents), size=self.n_local)]
            radius = np.array([0.01, 0.05, 0.15])[rng.integers(3, size=self.n_local)][:, None]
            moved = centres + radius * rng.standard_normal((self.n_local, dim))
            # Change each discrete coordinate with probability 1/dim, to a random value.
            flip = rng.random((self.n_local, dim)) < 1.0 / max(dim, 1)
            flip[:, self.encoder.continuous] = False
            moved = np.where(flip, rng.random((self.n_local, dim)), np.where(self._discrete_mask(), centres, moved))
            pool.append(np.clip(moved, low, high))
            pool.append(self._lines(incumbents[0], rng))
            pool.append(self._elsewhere(incumbents[0], rng))
        return self.encoder.snap(np.vstack(pool))

    def _elsewhere(self, centre: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Random snapped points of the whole cube whose choices differ from ``centre``'s."""
        if not len(self.encoder.choices):
            return np.empty((0, self.encoder.dim))
        points = self.encoder.snap(rng.random((self.n_elsewhere, self.encoder.dim)))
        return points[self.encoder.other_choices(points, centre)]

    def _lines(self, centre: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Copies of ``centre``, each with one continuous coordinate drawn uniformly from [0, 1]."""
        continuous = self.encoder.continuous
        if not self.n_lines or not len(continuous):
            return np.empty((0, self.encoder.dim))
        lines = np.repeat(centre[None, :], self.n_lines, axis=0)
        lines[np.arange(self.n_lines), continuous[rng.integers(len(continuous), size=self.n_lines)]] = \
            rng.random(self.n_lines)
        return lines

    def _discrete_mask(self) -> np.ndarray:
        mask = np.zeros(self.encoder.dim, dtype=bool)
        mask[self.encoder.discrete] = True
        return mask

    def maximize(self, fn: AcqFn, incumbents: np.ndarray, seen: np.ndarray, rng: np.random.Generator,
                 scales: np.ndarray | None = None, box: tuple[np.ndarray, np.ndarray] | None = None,
                 ) -> np.ndarray | None:
        """The best snapped point not in ``seen``, or None when every candidate is seen.

        Args:
            fn: the acquisition.
            incumbents: the best observed ``Z`` rows, best first (may be empty).
            seen: ``Z`` rows not to return (observed and pending).
            rng: the random generator.
            scales: length scales of the continuous columns (default 1).
            box: lower and upper bounds of the search per column (default the unit cube).
        """
        continuous = self.encoder.continuous
        scales = np.ones(len(continuous)) if scales is None else scales
        low, high = box if box is not None else (np.zeros(self.encoder.dim), np.ones(self.encoder.dim))
        cand = self.candidates(incumbents, rng, low, high)
        values = fn(cand)[0]
        order = np.argsort(-values, kind="stable")[: self.n_starts]
        starts = np.vstack([cand[order], incumbents[:1]])
        if len(incumbents):
            anywhere = self.encoder.other_choices(starts, incumbents[0])[:, None]
            low, high = np.where(anywhere, 0.0, low), np.where(anywhere, 1.0, high)
        starts = gradient_ascent(fn, starts, continuous, scales, low, high)
        starts = self.encoder.snap(starts)
        start_values = fn(starts)[0]
        ranked = np.argsort(-start_values, kind="stable")
        refined = [exchange_search(fn, self.encoder, starts[i], float(start_values[i]), rng) for i in ranked[:3]]
        pool = np.vstack([np.array([z for z, _ in refined]), starts, cand])
        pool_values = np.concatenate([[v for _, v in refined], start_values, values])
        for i in np.argsort(-pool_values, kind="stable"):
            if not _contains(seen, pool[i]):
                return pool[i]
        return None

    def sample_best(self, gp: GaussianProcess, incumbents: np.ndarray, seen: np.ndarray, rng: np.random.Generator,
                    box: tuple[np.ndarray, np.ndarray]) -> np.ndarray | None:
        """The candidate not in ``seen`` that is lowest in one joint posterior draw (Thompson
        sampling), or None when every candidate is seen."""
        cand = self.candidates(incumbents, rng, *box)
        cand = cand[[not _contains(seen, z) for z in cand]]
        if not len(cand):
            return None
        return cand[int(np.argmin(gp.sample(self.encoder.features(cand), rng)))]


def _contains(rows: np.ndarray, z: np.ndarray) -> bool:
    """True when ``z`` equals some row of ``rows`` (to rounding)."""
    return bool(len(rows)) and bool(np.any(np.all(np.abs(rows - z[None, :]) < 1e-9, axis=1)))
