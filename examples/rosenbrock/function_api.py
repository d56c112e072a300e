"""Tune a Python function instead of a script, with the Python API.

``objective`` must be a top-level function: tunelab's worker processes import it by name
(this file's path), so CPU-bound objectives really run in parallel. Everything is
recorded in the storage like a script experiment (``tunelab show rosenbrock-fn``).

Run: ``python function_api.py [--storage sqlite:///path/to/db.sqlite]``
"""

from __future__ import annotations

import argparse
from typing import Any

from tunelab import api

SPEC: dict[str, Any] = {
    "name": "rosenbrock-fn",
    "proposer": "random",
    "n_samples": 20,
    "n_parallel": 2,
    "random_seed": 0,
    "target": "min",
    "parameter_config": [
        {"name": "x", "type": "float", "range": [-5, 5]},
        {"name": "y", "type": "float", "range": [-5, 5]},
    ],
}


def rosen(config: dict[str, float]) -> dict[str, float]:
    """The objective: a dict with the main ``value`` and extra named results."""
    x, y = config["x"], config["y"]
    value = (1 - x) ** 2 + 100 * (y - x * x) ** 2
    return {"value": value, "distance": ((x - 1) ** 2 + (y - 1) ** 2) ** 0.5}


def main() -> None:
    """Run the experiment and print the best configuration."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default=None, help="database URL (default ./.tunelab/tunelab.db)")
    parser.add_argument("--name", default=SPEC["name"], help="experiment name")
    args = parser.parse_args()
    result = api.run({**SPEC, "name": args.name}, storage=args.storage, objective=rosen)
    best = result.best
    finished = sum(job.status == "finished" for job in result.jobs)
    print(f"{finished} jobs finished")
    if best:
        print(f"best value {best['result']:.6g} at {best['config']} (extra {best['extra_results']})")


if __name__ == "__main__":
    main()
