"""The GP's view of a space: one unit coordinate per parameter, and kernel features.

Two representations are used:

* ``Z`` (``m x P``, one column per parameter) is where the acquisition optimiser moves.
  It is the space's own unit-cube encoding (:meth:`Space.to_unit`), so every row decodes
  with :meth:`Space.from_unit`. Discrete coordinates are always *snapped* to the unit
  value of a valid value, so the acquisition is evaluated exactly where a job would run
  and the GP never spends evaluations between two integers.
* ``X`` (``m x F``) is what the kernel sees. Ordered parameters (floats, ints, ordinals)
  give one column equal to their ``Z`` coordinate; unordered choices give one-hot
  columns, all sharing one length scale (a scaled Hamming distance); constants give
  none. A parameter that is inactive (its ``when`` does not hold) takes the fixed value
  :data:`INACTIVE` in its ordered column, or all zeros in its one-hot columns, so every
  inactive point looks the same along that parameter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tunelab.space import Config, Float, Int, Param, Space

INACTIVE = 0.5
"""Feature value of an inactive ordered parameter: the centre of the cube, never far from anything."""

_MAX_GRID = 1024
"""Ordered parameters with more values than this are optimised as continuous, then snapped."""


def _unit_grid(param: Param) -> np.ndarray | None:
    """Sorted unit values of a discrete ordered parameter, or None when continuous."""
    if isinstance(param, Float) and param.step is None:
        return None
    if isinstance(param, (Float, Int)) and param.cardinality > _MAX_GRID:
        return None
    return np.unique([param.to_unit(v) for v in param.grid(None)])


def _nearest(grid: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The element of the sorted ``grid`` nearest to each ``u``."""
    if len(grid) == 1:
        return np.full_like(u, grid[0])
    pos = np.clip(np.searchsorted(grid, u), 1, len(grid) - 1)
    left, right = grid[pos - 1], grid[pos]
    return np.where(u - left <= right - u, left, right)


class UnitEncoder:
    """Encodes configs for the GP and snaps search points to valid values.

    Args:
        space: the search space.

    Attributes:
        continuous: indices of the ``Z`` columns moved by gradient steps.
        discrete: indices of the ``Z`` columns moved by exchange steps.
        choices: indices of the ``Z`` columns of unordered choices (part of ``discrete``).
        groups: for every feature column, the length-scale index (one per parameter).
        n_groups: number of length scales.
    """

    def __init__(self, space: Space) -> None:
        self.space = space
        self.params = list(space)
        self._grids = [_unit_grid(p) for p in self.params]
        self._sizes = [len(p.choices) if p.is_categorical else 0 for p in self.params]
        self._constant = [p.cardinality == 1 for p in self.params]
        self._parents = self._conditions()
        self.continuous = np.array([j for j, g in enumerate(self._grids) if g is None], dtype=int)
        self.discrete = np.array([j for j, g in enumerate(self._grids)
                                  if g is not None and not self._constant[j]], dtype=int)
        self.choices = np.array([j for j in self.discrete if self._sizes[j]], dtype=int)
        self._columns: list[slice] = []
        groups: list[int] = []
        self.n_groups = 0
        for j in range(len(self.params)):
            width = 0 if self._constant[j] else (self._sizes[j] or 1)
            self._columns.append(slice(len(groups), len(groups) + width))
            if width:
                groups.extend([self.n_groups] * width)
                self.n_groups += 1
        self.groups = np.array(groups, dtype=int)

    def _conditions(self) -> list[list[tuple[int, np.ndarray]]]:
        """For every parameter, its parents' indices with the allowed unit values."""
        index = {p.name: j for j, p in enumerate(self.params)}
        out = []
        for param in self.params:
            conds = []
            for parent, values in param.when.items():
                owner = self.params[index[parent]]
                conds.append((index[parent], np.array([owner.to_unit(owner.validate(v)) for v in values])))
            out.append(conds)
        return out

    @property
    def dim(self) -> int:
        """Number of ``Z`` columns (parameters)."""
        return len(self.params)

    @property
    def n_features(self) -> int:
        """Number of kernel feature columns."""
        return len(self.groups)

    def encode(self, configs: Sequence[Config]) -> np.ndarray:
        """``Z`` rows of valid configs; inactive coordinates are set to 0.5."""
        if not configs:
            return np.empty((0, self.dim))
        z = np.array([self.space.to_unit(c) for c in configs], dtype=float).reshape(len(configs), self.dim)
        return np.where(np.isnan(z), 0.5, z)

    def decode(self, z: np.ndarray) -> Config:
        """The valid config of one ``Z`` row."""
        return self.space.validate(self.space.from_unit([float(u) for u in z]))

    def snap(self, z: np.ndarray) -> np.ndarray:
        """``Z`` rows moved onto valid values (discrete columns to their nearest value).

        Inactive coordinates become 0.5, as in :meth:`encode`, so two rows that decode
        to the same config are equal.
        """
        z = np.clip(np.array(z, dtype=float), 0.0, 1.0)
        for j, grid in enumerate(self._grids):
            if self._sizes[j]:
                k = self._sizes[j]
                z[:, j] = (np.minimum(np.floor(z[:, j] * k), k - 1) + 0.5) / k
            elif grid is not None:
                z[:, j] = _nearest(grid, z[:, j])
        return np.where(self.active(z), z, 0.5)

    def other_choices(self, z: np.ndarray, centre: np.ndarray) -> np.ndarray:
        """True for the snapped ``Z`` rows whose unordered choices differ from ``centre``'s."""
        return np.any(np.abs(z[:, self.choices] - centre[self.choices]) > 1e-9, axis=1)

    def active(self, z: np.ndarray) -> np.ndarray:
        """Boolean ``m x P`` mask of the active parameters of snapped ``Z`` rows."""
        mask = np.ones(z.shape, dtype=bool)
        for j, conds in enumerate(self._parents):
            for parent, allowed in conds:
                hit = np.isclose(z[:, parent, None], allowed[None, :], rtol=0, atol=1e-9).any(axis=1)
                mask[:, j] &= mask[:, parent] & hit
        return mask

    def features(self, z: np.ndarray) -> np.ndarray:
        """Kernel inputs ``X`` of snapped ``Z`` rows."""
        active = self.active(z)
        x = np.zeros((len(z), self.n_features))
        for j, cols in enumerate(self._columns):
            if cols.start == cols.stop:
                continue
            if self._sizes[j]:
                k = self._sizes[j]
                onehot = np.eye(k)[np.minimum((z[:, j] * k).astype(int), k - 1)]
                x[:, cols] = onehot * active[:, j, None]
            else:
                x[:, cols.start] = np.where(active[:, j], z[:, j], INACTIVE)
        return x

    @property
    def continuous_features(self) -> np.ndarray:
        """The feature column of each continuous parameter, in the order of ``continuous``."""
        return np.array([self._columns[j].start for j in self.continuous], dtype=int)

    def neighbours(self, z: np.ndarray, j: int, rng: np.random.Generator, limit: int = 12) -> np.ndarray:
        """Copies of the row ``z`` with discrete column ``j`` set to other valid values.

        All values when there are at most ``limit``; else the nearest two on each side
        plus random ones, so an exchange step stays cheap for big integer ranges.
        """
        if self._sizes[j]:
            k = self._sizes[j]
            values = (np.arange(k) + 0.5) / k
        else:
            values = self._grids[j]
        values = values[~np.isclose(values, z[j], rtol=0, atol=1e-12)]
        if len(values) > limit:
            near = values[np.argsort(np.abs(values - z[j]), kind="stable")[:4]]
            values = np.unique(np.concatenate([near, rng.choice(values, limit - 4, replace=False)]))
        out = np.repeat(z[None, :], len(values), axis=0)
        out[:, j] = values
        return out
