"""A random-forest surrogate with a mean and a spread per point (Hutter et al., 2011).

The prediction of each tree is one sample of the function; the mean and variance over
the trees give the Gaussian summary that expected improvement needs. Trees need no
kernel, split on unordered and inactive values as easily as on numbers, and cost
``O(n log n)`` to fit, which is why SMAC does well on mixed and conditional spaces.
"""

from __future__ import annotations

import numpy as np

INACTIVE = -1.0
"""Feature value of an inactive parameter: outside [0, 1], so one split isolates it."""

_MIN_VARIANCE = 1e-10


class ForestSurrogate:
    """Random forest with per-tree predictions.

    Args:
        n_trees: number of trees.
        seed: integer seed of the forest (bootstrap samples and feature subsets).

    Example:
        >>> x = np.linspace(0, 1, 20)[:, None]; y = (x[:, 0] - 0.3) ** 2
        >>> model = ForestSurrogate(n_trees=5, seed=0).fit(x, y)
        >>> mean, var = model.predict(np.array([[0.3], [0.9]]))
        >>> bool(mean[0] < mean[1])
        True
    """

    def __init__(self, n_trees: int, seed: int) -> None:
        from sklearn.ensemble import RandomForestRegressor  # heavy: imported when a model is first built

        self.forest = RandomForestRegressor(n_estimators=n_trees, max_features=5 / 6, min_samples_split=3,
                                            min_samples_leaf=1, bootstrap=True, random_state=seed, n_jobs=1)

    def __repr__(self) -> str:
        return f"ForestSurrogate(n_trees={self.forest.n_estimators})"

    def fit(self, x: np.ndarray, y: np.ndarray) -> ForestSurrogate:
        """Fit on features ``x`` (``n x P``) and targets ``y``."""
        self.forest.fit(x, y)
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance over the trees at the rows of ``x``."""
        per_tree = np.array([tree.predict(x) for tree in self.forest.estimators_])
        return per_tree.mean(axis=0), np.maximum(per_tree.var(axis=0), _MIN_VARIANCE)
