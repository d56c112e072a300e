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
    cols = np.array([encoder.feature_column(j) for j in encoder.continuous], dtype=int)

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


def gradient_ascent(fn: AcqFn, starts: np.ndarray, free: np.ndarray, maxiter: int = 60) -> np.ndarray:
    """Maximise ``fn`` from every row of ``starts`` along the columns ``free`` in [0, 1].

    The starts are independent, so one L-BFGS-B run on the sum of their values moves
    them all at once: one batched model call per step instead of one per start.
    """
    if len(free) == 0 or len(starts) == 0:
        return starts
    base = starts.copy()

    def negative(flat: np.ndarray) -> tuple[float, np.ndarray]:
        z = base.copy()
        z[:, free] = flat.reshape(len(base), len(free))
        value, grad = fn(z, gradient=True)
        return -float(np.sum(value)), -grad[:, free].ravel()

    result = optimize.minimize(negative, base[:, free].ravel(), jac=True, method="L-BFGS-B",
                               bounds=[(0.0, 1.0)] * (len(base) * len(free)), options={"maxiter": maxiter})
    out = base.copy()
    out[:, free] = np.clip(result.x.reshape(len(base), len(free)), 0.0, 1.0)
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
    """Many-start maximisation of an acquisition over snapped unit points.

    Candidates are random points plus perturbations of the best observed points at
    several radii (local exploitation); the best few start batched L-BFGS-B along the
    continuous coordinates, then exchange steps along the discrete ones.

    Args:
        encoder: the space's encoder.
        n_random: number of random candidates.
        n_local: number of perturbations around the incumbents.
        n_starts: number of gradient starts.
    """

    def __init__(self, encoder: UnitEncoder, n_random: int = 1024, n_local: int = 512, n_starts: int = 8) -> None:
        self.encoder = encoder
        self.n_random, self.n_local, self.n_starts = n_random, n_local, n_starts

    def candidates(self, incumbents: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Snapped random and local candidates."""
        dim = self.encoder.dim
        pool = [rng.random((self.n_random, dim))]
        if len(incumbents):
            centres = incumbents[rng.integers(len(incumbents), size=self.n_local)]
            radius = np.array([0.01, 0.05, 0.15])[rng.integers(3, size=self.n_local)][:, None]
            moved = centres + radius * rng.standard_normal((self.n_local, dim))
            # Change each discrete coordinate with probability 1/dim, to a random value.
            flip = rng.random((self.n_local, dim)) < 1.0 / max(dim, 1)
            flip[:, self.encoder.continuous] = False
            moved = np.where(flip, rng.random((self.n_local, dim)), np.where(self._discrete_mask(), centres, moved))
            pool.append(moved)
        return self.encoder.snap(np.vstack(pool))

    def _discrete_mask(self) -> np.ndarray:
        mask = np.zeros(self.encoder.dim, dtype=bool)
        mask[self.encoder.discrete] = True
        return mask

    def maximize(self, fn: AcqFn, incumbents: np.ndarray, seen: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray | None:
        """The best snapped point not in ``seen``, or None when every candidate is seen."""
        cand = self.candidates(incumbents, rng)
        values = fn(cand)[0]
        order = np.argsort(-values, kind="stable")[: self.n_starts]
        starts = gradient_ascent(fn, cand[order], self.encoder.continuous)
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


def _contains(rows: np.ndarray, z: np.ndarray) -> bool:
    """True when ``z`` equals some row of ``rows`` (to rounding)."""
    return bool(len(rows)) and bool(np.any(np.all(np.abs(rows - z[None, :]) < 1e-9, axis=1)))
