"""The same trade-off through the Python API: the objective returns a tuple, one value per
objective in the order of ``objectives``; ``result.front`` is the Pareto front.

Run: ``python function_api.py [--storage URL] [--samples N]`` (default: ``.tunelab/``
here, 16 jobs).
"""

from __future__ import annotations

import argparse
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import tunelab.api as api

SPEC = {
    "name": "digits-pareto-api",
    "n_samples": 16,
    "n_parallel": 2,
    "random_seed": 0,
    "objectives": [{"name": "accuracy", "target": "max"}, {"name": "seconds", "target": "min"}],
    "parameter_config": [
        {"name": "units", "type": "int", "range": [4, 128], "log": True},
        {"name": "alpha", "type": "float", "range": [1e-6, 0.01], "log": True},
    ],
}


def objective(config: dict) -> tuple[float, float]:
    """Validation accuracy and training time of one model."""
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x / 16.0, y, test_size=0.3, random_state=0, stratify=y)
    model = MLPClassifier(hidden_layer_sizes=[config["units"]], alpha=config["alpha"], max_iter=40, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    return model.score(x_val, y_val), time.perf_counter() - start


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="accuracy against training time on digits")
    parser.add_argument("--storage", default=None)
    parser.add_argument("--samples", type=int, default=SPEC["n_samples"])
    args = parser.parse_args()
    result = api.run({**SPEC, "n_samples": args.samples}, storage=args.storage, objective=objective)
    print(f"{len(result.front)} jobs on the Pareto front of {len(result.jobs)}:")
    for job in result.front:
        print(job.id, job.objectives, job.config)
