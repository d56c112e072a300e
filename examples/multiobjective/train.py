"""A small MLP on scikit-learn's digits, trading validation accuracy against model size.

Tuned: the hidden units (``units``), the number of hidden layers (``layers``), the L2
regularisation (``alpha``, log scale) and the learning rate (``lr``, log scale). Two
objectives are reported by name: ``accuracy`` (maximised) and ``params`` (the number of
weights, minimised); the training time is an extra value. tunelab keeps every
objective per job and shows the Pareto front: the models no other model beats on both.

Run by hand with the defaults: ``python train.py``. tunelab runs it as
``python train.py <job config path>``.
"""

from __future__ import annotations

import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from tunelab import trial

DEFAULTS = {"units": 32, "layers": 1, "alpha": 1e-4, "lr": 1e-3}


def weights(sizes: list[int]) -> int:
    """Number of weights and biases of a dense network with these layer sizes."""
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))


def main() -> None:
    config = trial.load_config(defaults=DEFAULTS)
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x / 16.0, y, test_size=0.3, random_state=0, stratify=y)
    hidden = [int(config["units"])] * int(config["layers"])
    model = MLPClassifier(hidden_layer_sizes=hidden, alpha=config["alpha"], learning_rate_init=config["lr"],
                          max_iter=60, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    trial.report(accuracy=model.score(x_val, y_val), params=weights([x.shape[1], *hidden, 10]),
                 train_seconds=time.perf_counter() - start)


if __name__ == "__main__":
    main()
