"""Gaussian-process regression with MAP-fitted hyperparameters.

The hyperparameters ``theta = [log l_1..log l_G, log amplitude, log noise]`` maximise the
log marginal likelihood plus these log priors:

* length scales: ``log p(l) = -0.1 (l^2 + 1 / l^2)`` (Optuna's GPSampler prior), within
  one nat of its mode (``l = 1``, the cube's width) between 0.3 and 3 and steep outside.
  With few observations in many dimensions the likelihood alone is multimodal: it flips
  between a nearly flat model (huge length scales) and one that explains the data as
  unrelated points (one tiny length scale). Both send expected improvement to the
  corners of the cube. Moderate length scales keep the model's trend, which is what
  leads the search on bumpy objectives such as Ackley or Levy;
* amplitude: ``log a ~ N(0, 1)``, since the targets are standardised;
* noise: ``log s2 ~ N(log 1e-6, 2)``, favouring near-interpolation of deterministic
  objectives (so the model resolves the last digits near the optimum) while still
  letting noisy ones explain their scatter.

The posterior mean is zero outside the data (the targets are centred).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize

from tunelab.proposers._gp.kernel import (
    column_scales,
    group_sq_dist,
    matern52,
    matern52_dr2,
    matern52_with_dr2,
    scaled_sq_dist,
)

MIN_NOISE = 1e-7
_LOG_AMP_PRIOR = (0.0, 1.0)
_LOG_NOISE_PRIOR = (float(np.log(1e-6)), 2.0)
_LS_PRIOR_WEIGHT = 0.1
_LOG_LS_BOUNDS = (np.log(1e-2), np.log(1e3))


def default_theta(n_groups: int) -> np.ndarray:
    """The prior's mode: a starting point for the fit."""
    return np.concatenate([np.zeros(n_groups), [_LOG_AMP_PRIOR[0], _LOG_NOISE_PRIOR[0]]])


def theta_bounds(n_groups: int) -> list[tuple[float, float]]:
    """L-BFGS-B bounds on ``theta``."""
    return [_LOG_LS_BOUNDS] * n_groups + [(np.log(1e-2), np.log(1e2)), (np.log(MIN_NOISE), np.log(1.0))]


def _cholesky(k: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor, adding jitter when rounding makes ``k`` indefinite."""
    jitter = 0.0
    for _ in range(6):
        try:
            return linalg.cholesky(k + jitter * np.eye(len(k)), lower=True, check_finite=False)
        except linalg.LinAlgError:
            jitter = max(jitter * 10.0, 1e-8 * float(np.mean(np.diag(k))))
    raise linalg.LinAlgError("kernel matrix is not positive definite even with jitter")


def _inverse_from_cholesky(chol: np.ndarray) -> np.ndarray:
    """``K^-1`` from the lower Cholesky factor of ``K`` (LAPACK ``potri``, half the work of a solve)."""
    lower, info = linalg.lapack.dpotri(chol, lower=True)
    if info != 0:
        return linalg.cho_solve((chol, True), np.eye(len(chol)), check_finite=False)
    lower = np.tril(lower)
    return lower + np.tril(lower, -1).T


def _log_prior(theta: np.ndarray, n_groups: int) -> tuple[float, np.ndarray]:
    """Log prior density (up to a constant) and its gradient."""
    square = np.exp(2.0 * theta[:n_groups])  # l^2
    value = -_LS_PRIOR_WEIGHT * float(np.sum(square + 1.0 / square))
    grad = np.empty_like(theta)
    grad[:n_groups] = -2.0 * _LS_PRIOR_WEIGHT * (square - 1.0 / square)
    means = np.array([_LOG_AMP_PRIOR[0], _LOG_NOISE_PRIOR[0]])
    sds = np.array([_LOG_AMP_PRIOR[1], _LOG_NOISE_PRIOR[1]])
    z = (theta[n_groups:] - means) / sds
    grad[n_groups:] = -z / sds
    return value - 0.5 * float(np.sum(z * z)), grad


def neg_log_posterior(theta: np.ndarray, d2: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Negative log marginal likelihood minus log prior, with its gradient.

    Args:
        theta: log length scales (one per group), log amplitude, log noise.
        d2: per-group squared distances from :func:`group_sq_dist`.
        y: standardised targets.
    """
    n_groups = len(d2)
    inv_l2 = np.exp(-2.0 * theta[:n_groups])
    amplitude, noise = np.exp(theta[n_groups]), np.exp(theta[n_groups + 1])
    r2 = np.tensordot(inv_l2, d2, axes=1)
    k_signal, k_dr2 = matern52_with_dr2(r2, amplitude)
    try:
        chol = _cholesky(k_signal + noise * np.eye(len(y)))
    except linalg.LinAlgError:
        return 1e10, np.zeros_like(theta)
    alpha = linalg.cho_solve((chol, True), y, check_finite=False)
    k_inv = _inverse_from_cholesky(chol)
    nll = 0.5 * float(y @ alpha) + float(np.sum(np.log(np.diag(chol)))) + 0.5 * len(y) * np.log(2 * np.pi)
    w = np.outer(alpha, alpha) - k_inv
    wd = w * k_dr2
    grad = np.empty_like(theta)
    grad[:n_groups] = np.tensordot(d2, wd, axes=([1, 2], [0, 1])) * inv_l2
    grad[n_groups] = -0.5 * float(np.sum(w * k_signal))
    grad[n_groups + 1] = -0.5 * float(np.trace(w)) * noise
    log_prior, prior_grad = _log_prior(theta, n_groups)
    return nll - log_prior, grad - prior_grad


def fit_theta(x: np.ndarray, y: np.ndarray, groups: np.ndarray, n_groups: int,
              starts: list[np.ndarray], maxiter: int = 150) -> tuple[np.ndarray, float]:
    """MAP hyperparameters from L-BFGS-B restarted at each of ``starts``, and their negative log posterior."""
    d2 = group_sq_dist(x, groups, n_groups)
    bounds = theta_bounds(n_groups)
    lows, highs = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
    best_theta, best_value = np.clip(starts[0], lows, highs), np.inf
    for start in starts:
        result = optimize.minimize(neg_log_posterior, np.clip(start, lows, highs), args=(d2, y), jac=True,
                                   method="L-BFGS-B", bounds=bounds, options={"maxiter": maxiter})
        if np.isfinite(result.fun) and result.fun < best_value:
            best_theta, best_value = np.asarray(result.x), float(result.fun)
    return best_theta, best_value


@dataclass
class Posterior:
    """Posterior mean and standard deviation at some points, with gradients.

    Attributes:
        mean: ``(m,)`` posterior means.
        std: ``(m,)`` posterior standard deviations (of the latent function).
        dmean: ``(m, F)`` gradients of the mean, or None.
        dstd: ``(m, F)`` gradients of the standard deviation, or None.
    """

    mean: np.ndarray
    std: np.ndarray
    dmean: np.ndarray | None = None
    dstd: np.ndarray | None = None


class GaussianProcess:
    """A GP conditioned on ``(x, y)`` with fixed hyperparameters ``theta``.

    Args:
        x: ``(n, F)`` inputs (kernel features).
        y: ``(n,)`` standardised targets.
        theta: log length scales, log amplitude, log noise.
        groups: length-scale index of every feature column.

    Example:
        >>> x = np.array([[0.1], [0.5], [0.9]]); y = np.array([-1.0, 0.5, 0.2])
        >>> gp = GaussianProcess(x, y, default_theta(1), np.array([0]))
        >>> bool(abs(gp.predict(x).mean[0] + 1.0) < 0.05)
        True
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, theta: np.ndarray, groups: np.ndarray) -> None:
        n_groups = len(theta) - 2
        self.x, self.y, self.theta, self.groups = x, y, np.asarray(theta, dtype=float), groups
        self.scales = column_scales(np.exp(self.theta[:n_groups]), groups)
        self.amplitude = float(np.exp(self.theta[n_groups]))
        self.noise = float(np.exp(self.theta[n_groups + 1]))
        k = matern52(scaled_sq_dist(x, x, self.scales), self.amplitude) + self.noise * np.eye(len(x))
        self._chol = _cholesky(k)
        self._alpha = linalg.cho_solve((self._chol, True), y, check_finite=False)

    def __repr__(self) -> str:
        return (f"GaussianProcess(n={len(self.y)}, lengthscales={np.round(np.exp(self.theta[:-2]), 3).tolist()}, "
                f"amplitude={self.amplitude:.3g}, noise={self.noise:.3g})")

    def condition(self, x_new: np.ndarray, y_new: np.ndarray) -> GaussianProcess:
        """A GP with the same hyperparameters and extra observations (for fantasies)."""
        return GaussianProcess(np.vstack([self.x, x_new]), np.concatenate([self.y, y_new]), self.theta, self.groups)

    def predict(self, xs: np.ndarray, gradient: bool = False) -> Posterior:
        """Posterior at the rows of ``xs``; with ``gradient``, also d/dxs of mean and std."""
        r2, k_star, v = self._cross(xs)
        mean = k_star @ self._alpha
        var = np.maximum(self.amplitude - np.sum(v * v, axis=0), 1e-12 * self.amplitude)
        std = np.sqrt(var)
        if not gradient:
            return Posterior(mean, std)
        dk = matern52_dr2(r2, self.amplitude)
        k_inv_k = linalg.solve_triangular(self._chol.T, v, lower=False, check_finite=False).T
        dmean = self._weighted_diff(dk * self._alpha[None, :], xs)
        dvar = -2.0 * self._weighted_diff(dk * k_inv_k, xs)
        return Posterior(mean, std, dmean, dvar / (2.0 * std[:, None]))

    def sample(self, xs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One draw of the latent function at the rows of ``xs``, jointly (for Thompson sampling)."""
        _, k_star, v = self._cross(xs)
        cov = matern52(scaled_sq_dist(xs, xs, self.scales), self.amplitude) - v.T @ v
        cov[np.diag_indices_from(cov)] += 1e-6 * self.amplitude
        try:
            root = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            values, vectors = np.linalg.eigh(cov)
            root = vectors * np.sqrt(np.maximum(values, 0.0))
        return k_star @ self._alpha + root @ rng.standard_normal(len(xs))

    def _cross(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scaled squared distances and covariances from the rows of ``xs`` to the data, and
        ``L^-1 K(x, xs)`` (``L`` the Cholesky factor of the data's covariance)."""
        r2 = scaled_sq_dist(xs, self.x, self.scales)
        k_star = matern52(r2, self.amplitude)
        return r2, k_star, linalg.solve_triangular(self._chol, k_star.T, lower=True, check_finite=False)

    def _weighted_diff(self, weights: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """``sum_i weights[m, i] * d r2(xs_m, x_i) / d xs_m``, shape ``(m, F)``."""
        return 2.0 * (xs * weights.sum(1)[:, None] - weights @ self.x) / (self.scales ** 2)


class OutputWarp:
    """A monotone map of losses to standardised GP targets.

    ``log(y - min + delta)`` with ``delta`` the distance from the minimum to the median
    stretches the region near the best losses and compresses the heavy upper tail of
    objectives such as Rosenbrock; the result is then standardised. Being monotone, it
    keeps the order of losses, so improvement in the warped space is improvement.

    Losses beyond ``HUGE`` in size are first divided by the power of two just below the
    largest, so that differences and squares stay finite (an objective may return ``1e300``
    for a diverged run); smaller losses are used as they are.

    Args:
        losses: observed losses (finite).
        log: apply the log warp; else only standardise.
    """

    HUGE = 1e100

    def __init__(self, losses: np.ndarray, log: bool = True) -> None:
        losses = np.asarray(losses, dtype=float)
        self.log = log
        largest = float(np.max(np.abs(losses)))
        self.unit = 2.0 ** np.floor(np.log2(largest)) if largest > self.HUGE else 1.0
        scaled = losses / self.unit
        self.low = float(np.min(scaled))
        spread = float(np.median(scaled)) - self.low
        scale = max(float(np.max(np.abs(scaled))), 1.0)
        self.delta = max(spread, 1e-9 * scale) if len(losses) > 1 else 1.0
        warped = self._raw(losses)
        self.center = float(np.mean(warped))
        self.scale = float(np.std(warped)) or 1.0

    def __repr__(self) -> str:
        return f"OutputWarp(log={self.log}, low={self.low * self.unit:.6g}, delta={self.delta * self.unit:.3g})"

    def _shifted(self, losses: np.ndarray) -> np.ndarray:
        """Losses in ``unit``s, moved so that the lowest is ``delta``: the log warp's argument."""
        return np.maximum(losses / self.unit - self.low, 0.0) + self.delta

    def _raw(self, losses: np.ndarray) -> np.ndarray:
        """The warp before standardising."""
        return np.log(self._shifted(losses)) if self.log else losses / self.unit

    def __call__(self, losses: np.ndarray) -> np.ndarray:
        """Standardised warped targets."""
        return (self._raw(np.asarray(losses, dtype=float)) - self.center) / self.scale

    def log_jacobian(self, losses: np.ndarray) -> float:
        """``sum log |d warp / d loss|``: turns a likelihood of warped targets into one of losses.

        Comparing GP evidence plus this term across warps picks the warp that explains
        the losses themselves best (the Box-Cox argument).
        """
        losses = np.asarray(losses, dtype=float)
        total = -len(losses) * (np.log(self.scale) + np.log(self.unit))
        if self.log:
            total -= np.sum(np.log(self._shifted(losses)))
        return float(total)
