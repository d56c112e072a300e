"""Pareto dominance, non-dominated sorting, crowding distance and hypervolume.

Every function works in minimisation: rows of a ``(n, m)`` array are points, columns
objectives, and lower is better in each (apply each objective's sign first). The
multi-objective proposers, the results views and the benchmark share these.
"""

from __future__ import annotations

import numpy as np


def _rows(points: np.ndarray) -> np.ndarray:
    """``points`` as a float ``(n, m)`` array (a flat list is one objective)."""
    array = np.asarray(points, float)
    return array if array.ndim == 2 else array.reshape(len(array), 1 if array.size else 0)


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """True when ``a`` is no worse than ``b`` in every objective and better in one.

    Example:
        >>> dominates(np.array([1.0, 2.0]), np.array([1.0, 3.0]))
        True
    """
    return bool(np.all(a <= b) and np.any(a < b))


def _dominated_by(points: np.ndarray) -> np.ndarray:
    """``(n, n)`` matrix: ``[i, j]`` is True when point ``j`` dominates point ``i``."""
    le = np.all(points[None, :, :] <= points[:, None, :], axis=2)
    lt = np.any(points[None, :, :] < points[:, None, :], axis=2)
    return le & lt


def front_mask(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows (the Pareto front); equal points all stay.

    Example:
        >>> front_mask(np.array([[1.0, 3.0], [2.0, 2.0], [2.0, 3.0]])).tolist()
        [True, True, False]
    """
    points = _rows(points)
    if not len(points):
        return np.zeros(0, bool)
    return ~_dominated_by(points).any(axis=1)


def ranks(points: np.ndarray, *, enough: int | None = None) -> np.ndarray:
    """Non-domination rank of each row: 0 for the front, 1 for the front of the rest, ...

    Args:
        points: ``(n, m)`` objective values.
        enough: stop once this many rows are ranked; the others get rank ``n`` (the
            selections using ranks need only their best few fronts).

    Example:
        >>> ranks(np.array([[1.0, 3.0], [2.0, 2.0], [2.0, 3.0], [3.0, 4.0]])).tolist()
        [0, 0, 1, 2]
    """
    points = _rows(points)
    n = len(points)
    out = np.full(n, n, dtype=int)
    if not n:
        return out
    dominated_by = _dominated_by(points)
    left = np.ones(n, bool)
    rank = 0
    while left.any() and (enough is None or (~left).sum() < enough):
        current = left & ~(dominated_by[:, left].any(axis=1))
        out[current] = rank
        left &= ~current
        rank += 1
    return out


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """NSGA-II's crowding distance of each row within its set (boundary rows: inf).

    The sum over objectives of the gap between a row's two neighbours in that
    objective, divided by the objective's range: larger means a lonelier point.
    """
    points = _rows(points)
    n, m = points.shape
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(m):
        order = np.argsort(points[:, j], kind="stable")
        column = points[order, j]
        span = column[-1] - column[0]
        distance[order[0]] = distance[order[-1]] = np.inf
        if span > 0:
            distance[order[1:-1]] += (column[2:] - column[:-2]) / span
    return distance


def hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """Volume dominated by ``points`` and bounded by ``reference`` (exact).

    Points not strictly better than the reference in every objective add nothing. Two
    objectives use a sweep; more are sliced along the last objective (exact, fine for
    the few hundred points of a search).

    Example:
        >>> hypervolume(np.array([[1.0, 2.0], [2.0, 1.0]]), np.array([3.0, 3.0]))
        3.0
    """
    points = _rows(points)
    reference = np.asarray(reference, float)
    points = points[np.all(points < reference, axis=1)]
    if not len(points):
        return 0.0
    points = points[front_mask(points)]
    return _volume(points, reference)


def _volume(points: np.ndarray, reference: np.ndarray) -> float:
    if points.shape[1] == 1:
        return float(reference[0] - points[:, 0].min())
    if points.shape[1] == 2:
        order = np.argsort(points[:, 0], kind="stable")
        xs, ys = points[order, 0], np.minimum.accumulate(points[order, 1])
        widths = np.diff(np.append(xs, reference[0]))
        return float(np.sum(widths * (reference[1] - ys)))
    order = np.argsort(points[:, -1], kind="stable")
    points = points[order]
    total = 0.0
    for i in range(len(points)):
        top = points[i + 1, -1] if i + 1 < len(points) else reference[-1]
        height = top - points[i, -1]
        if height > 0:
            below = points[: i + 1, :-1]
            if below.shape[1] > 2:  # the sweep of two objectives needs no pruning
                below = below[front_mask(below)]
            total += height * _volume(below, reference[:-1])
    return total


def contributions(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each row's exclusive hypervolume: what the set loses without it.

    With two objectives and rows that do not dominate each other (one front), each
    share is the rectangle between its neighbours, found in one sort.
    """
    points = _rows(points)
    if points.shape[1] == 2 and len(points) and front_mask(points).all():
        clipped = np.minimum(points, reference)
        order = np.lexsort((clipped[:, 1], clipped[:, 0]))
        x, y = clipped[order, 0], clipped[order, 1]
        out = np.empty(len(points))
        out[order] = (np.append(x[1:], reference[0]) - x) * (np.insert(y[:-1], 0, reference[1]) - y)
        return out
    whole = hypervolume(points, reference)
    keep = np.ones(len(points), bool)
    out = np.empty(len(points))
    for i in range(len(points)):
        keep[i] = False
        out[i] = whole - hypervolume(points[keep], reference)
        keep[i] = True
    return out


def reduce_by_contribution(points: np.ndarray, size: int, reference: np.ndarray, *,
                           samples: int = 4096) -> np.ndarray:
    """Indices of ``size`` rows kept by dropping, one at a time, the row of least
    exclusive hypervolume (ties: the later row), so the kept set covers the front well.

    Two objectives use the exact shares. With more, exact shares of a large front cost
    too much to recompute after every drop, so the shares are estimated from ``samples``
    fixed pseudo-random points of the box (the same points every call: the result is
    deterministic); each drop then costs one pass over the samples.
    """
    points = _rows(points)
    kept = list(range(len(points)))
    if points.shape[1] == 2 or len(points) <= size:
        while len(kept) > size:
            share = contributions(points[kept], reference)
            del kept[max(range(len(kept)), key=lambda i: (-share[i], i))]
        return np.array(kept, dtype=int)
    low = points.min(axis=0)
    probes = low + np.random.default_rng(0).random((samples, points.shape[1])) * (reference - low)
    covers = np.all(points[None, :, :] <= probes[:, None, :], axis=2)
    count = covers.sum(axis=1)
    alive = np.ones(len(points), bool)
    while alive.sum() > size:
        share = np.where(alive, covers[count == 1].sum(axis=0), np.inf)
        drop = int(np.flatnonzero(share == share.min())[-1])
        alive[drop] = False
        count -= covers[:, drop]
    return np.flatnonzero(alive)
