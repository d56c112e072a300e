"""The Matérn-5/2 kernel with one length scale per parameter (ARD).

``k(r) = a (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r)`` with
``r^2 = sum_j (x_j - x'_j)^2 / l_g(j)^2``, where ``g(j)`` maps a feature column to its
parameter, so the one-hot columns of a choice share one length scale. Matérn-5/2 is
twice differentiable, which suits hyperparameter surfaces better than the very smooth
squared-exponential (Snoek et al., 2012).
"""

from __future__ import annotations

import numpy as np

SQRT5 = float(np.sqrt(5.0))


def matern52(r2: np.ndarray, amplitude: float) -> np.ndarray:
    """Kernel values for squared scaled distances ``r2``."""
    r = np.sqrt(np.maximum(r2, 0.0))
    return amplitude * (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * np.exp(-SQRT5 * r)


def matern52_dr2(r2: np.ndarray, amplitude: float) -> np.ndarray:
    """Derivative of :func:`matern52` with respect to ``r2`` (finite at ``r2 = 0``)."""
    r = np.sqrt(np.maximum(r2, 0.0))
    return -5.0 / 6.0 * amplitude * (1.0 + SQRT5 * r) * np.exp(-SQRT5 * r)


def matern52_with_dr2(r2: np.ndarray, amplitude: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`matern52` and :func:`matern52_dr2` sharing one ``exp`` (the fit's hot path)."""
    r = np.sqrt(np.maximum(r2, 0.0))
    decay = amplitude * np.exp(-SQRT5 * r)
    return (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * decay, -5.0 / 6.0 * (1.0 + SQRT5 * r) * decay


def column_scales(lengthscales: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The length scale of every feature column."""
    return np.asarray(lengthscales, dtype=float)[groups]


def scaled_sq_dist(x1: np.ndarray, x2: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """``r^2`` between the rows of ``x1`` and ``x2`` with per-column ``scales``."""
    a, b = x1 / scales, x2 / scales
    r2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(r2, 0.0)


def group_sq_dist(x: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Unscaled squared distances per length-scale group, shape ``(G, n, n)``.

    Fitting rescales these cheaply for every trial of the length scales.
    """
    out = np.zeros((n_groups, len(x), len(x)))
    for col, group in enumerate(groups):
        diff = x[:, col, None] - x[None, :, col]
        out[group] += diff * diff
    return out


def gram(x1: np.ndarray, x2: np.ndarray, lengthscales: np.ndarray, amplitude: float,
         groups: np.ndarray) -> np.ndarray:
    """The kernel matrix between the rows of ``x1`` and ``x2``."""
    return matern52(scaled_sq_dist(x1, x2, column_scales(lengthscales, groups)), amplitude)
