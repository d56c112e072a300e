"""Shifted and rotated variants of the synthetic problems, drawn afresh for every seed.

Several classic test functions have their optimum at a special point of the box: ackley,
griewank and the ellipsoid at the exact centre, levy and rosenbrock where every coordinate
is the same (1), styblinski_tang at the same coordinate in every dimension (-2.90). A
search that probes the centre first (nevergrad's NGOpt and Ax's Sobol start do) wins
ackley10 at once, and one that moves a coordinate at a time profits from separable ones;
neither says much about real tuning, where the optimum sits anywhere and parameters
interact.

A variant ``<base>_shifted`` moves the optimum to a point ``c`` drawn uniformly in the
middle 80% of the box, a different one for every seed: ``g(x) = f(x* + (x - c))`` where
``x*`` is the function's optimum; ``<base>_rotated`` also turns the space around ``c``
by an orthogonal matrix ``Q`` (drawn from the seed too): ``g(x) = f(x* + Q (x - c))``.
Every base function has its global minimum over all of R^d at ``x*``, so the variant's
minimum over the box is at ``c`` with the original value: regrets compare across seeds
and with the originals.

Bases: the four functions of the shared set with such an optimum (ackley10, levy8,
rosenbrock6, styblinski_tang8; branin, hartmann6 and mixed6 have none) and two of our own
that put it at the centre, ``griewank10`` on [-600, 600]^10 and ``ellipsoid10`` (the
axis-parallel hyper-ellipsoid, sum of i x_i^2) on [-5, 5]^10; both are problems here too.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import problems as shared
from scipy.stats import special_ortho_group

SHIFT_MARGIN = 0.1
"""The optimum of a variant keeps this fraction of the box's width from every bound."""


def griewank_fn(x: np.ndarray) -> float:
    """Griewank: a wide bowl covered in a fine product of cosines; 0 at the origin."""
    i = np.arange(1, len(x) + 1)
    return float(1.0 + np.sum(x * x) / 4000.0 - np.prod(np.cos(x / np.sqrt(i))))


def ellipsoid_fn(x: np.ndarray) -> float:
    """The axis-parallel hyper-ellipsoid ``sum_i i * x_i^2``; 0 at the origin."""
    return float(np.sum(np.arange(1, len(x) + 1) * x * x))


def _styblinski_tang_argmin() -> float:
    """The coordinate of styblinski_tang's minimizer: the best root of ``4x^3 - 32x + 5``."""
    roots = np.roots([4.0, 0.0, -32.0, 5.0]).real
    return float(min(roots, key=lambda r: r**4 - 16 * r * r + 5 * r))


@dataclass(frozen=True)
class Base:
    """A function with its box and its global minimizer (over all of R^d)."""

    fn: Callable[[np.ndarray], float]
    dim: int
    low: float
    high: float
    argmin: float
    """Every coordinate of the minimizer."""
    minimum: float


BASES = {
    "ackley10": Base(shared.ackley_fn, 10, -32.768, 32.768, 0.0, 0.0),
    "levy8": Base(shared.levy_fn, 8, -10.0, 10.0, 1.0, 0.0),
    "rosenbrock6": Base(shared.rosenbrock_fn, 6, -5.0, 10.0, 1.0, 0.0),
    "styblinski_tang8": Base(shared.styblinski_tang_fn, 8, -5.0, 5.0, _styblinski_tang_argmin(),
                             8 * shared._styblinski_tang_1d_min()),
    "griewank10": Base(griewank_fn, 10, -600.0, 600.0, 0.0, 0.0),
    "ellipsoid10": Base(ellipsoid_fn, 10, -5.0, 5.0, 0.0, 0.0),
}


@dataclass(frozen=True)
class Transform:
    """Where a variant puts the optimum (``centre``) and how it turns the space (``rotation``)."""

    centre: np.ndarray
    rotation: np.ndarray

    def __call__(self, x: np.ndarray, argmin: float) -> np.ndarray:
        """The point of the base function that ``x`` of the variant stands for."""
        return argmin + self.rotation @ (x - self.centre)


def transform(base_name: str, seed: int, rotate: bool) -> Transform:
    """The shift (and rotation) of ``base_name``'s variant for ``seed``: the same seed gives
    the same variant, another base or seed another one."""
    base = BASES[base_name]
    rng = np.random.default_rng([seed, zlib.crc32(base_name.encode())])
    width = base.high - base.low
    centre = base.low + width * rng.uniform(SHIFT_MARGIN, 1 - SHIFT_MARGIN, base.dim)
    rotation = special_ortho_group.rvs(base.dim, random_state=rng) if rotate else np.eye(base.dim)
    return Transform(centre, rotation)


def variant(name: str, seed: int) -> shared.Problem:
    """The problem ``<base>_shifted`` or ``<base>_rotated`` for ``seed``."""
    base_name, kind = name.rsplit("_", 1)
    base = BASES[base_name]
    move = transform(base_name, seed, rotate=kind == "rotated")
    return shared.continuous_problem(
        name, base.dim, base.low, base.high, lambda x: base.fn(move(x, base.argmin)), base.minimum,
        f"{base_name} with its optimum moved to a point drawn from the seed"
        + (" and the space rotated around it" if kind == "rotated" else ""))


def original(base_name: str) -> shared.Problem:
    """A base function as it is, optimum at its usual place (for the bases of our own)."""
    base = BASES[base_name]
    return shared.continuous_problem(base_name, base.dim, base.low, base.high, base.fn, base.minimum,
                                     f"{base_name} on [{base.low},{base.high}]^{base.dim}")


ORIGINALS: dict[str, Callable[[], shared.Problem]] = {
    name: (lambda name=name: original(name)) for name in ("griewank10", "ellipsoid10")}
"""The bases that are not in the shared set, as problems of their own."""

SHIFTED: dict[str, Callable[[int], shared.Problem]] = {
    f"{base_name}_{kind}": (lambda seed, name=f"{base_name}_{kind}": variant(name, seed))
    for base_name in BASES for kind in ("shifted", "rotated")
}
"""Variant factories by name; each takes the seed."""

DEFAULT = ("ackley10_shifted", "ackley10_rotated", "levy8_shifted", "rosenbrock6_shifted",
           "styblinski_tang8_shifted")
"""The variants a default run of ``proposers.py`` reports beside the shared problems."""
