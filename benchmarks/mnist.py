"""The MNIST example as a benchmark: search quality and epochs saved by early stopping.

Runs ``examples/mnist/train.py`` (real processes, SQLite in a temporary folder) and prints:

1. ``auto`` against ``random``: best validation accuracy after 30 jobs, mean over seeds.
2. Early stopping: a full random search (every job trains all epochs) against the same
   search with the median stopper, and against ASHA, on total epochs trained and best
   accuracy; the targets are "within 0.5 points of the full search's best" and "at most
   50% of its epochs".

    python benchmarks/mnist.py [--seeds 5] [--jobs 30] [--epochs 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

import tunelab.api as api

TRAIN = Path(__file__).resolve().parents[1] / "examples" / "mnist" / "train.py"
SPACE = json.loads((TRAIN.parent / "experiment.json").read_text())["parameter_config"]


def run(name: str, storage: str, seed: int, jobs: int, epochs: int, **spec: Any) -> api.ExperimentResult:
    """One experiment on the MNIST script; ``spec`` overrides the defaults."""
    base = {"name": name, "script": str(TRAIN), "target": "max", "n_samples": jobs, "n_parallel": 2,
            "random_seed": seed, "job_failure": {"ignore_fail": True}, "proposer": "random",
            "parameter_config": [*SPACE, {"name": "epochs", "type": "constant", "value": epochs}]}
    return api.run({**base, **spec}, storage=storage)


def best(result: api.ExperimentResult) -> float:
    """Best accuracy of a run (0 when nothing finished)."""
    return result.best["result"] if result.best else 0.0


def epochs_trained(result: api.ExperimentResult) -> int:
    """Epochs actually trained: one intermediate report per epoch."""
    return sum(len(job.intermediate) for job in result.search_jobs)


def compare_proposers(storage: str, seeds: int, jobs: int, epochs: int) -> None:
    rows = {}
    for proposer in ("random", "auto"):
        rows[proposer] = [best(run(f"{proposer}-{s}", storage, s, jobs, epochs, proposer=proposer))
                          for s in range(seeds)]
    print(f"\n## auto vs random: best validation accuracy after {jobs} jobs ({seeds} seeds)\n")
    print("| proposer | mean best | min | max |\n|---|---|---|---|")
    for proposer, values in rows.items():
        print(f"| {proposer} | {statistics.mean(values):.4f} | {min(values):.4f} | {max(values):.4f} |")
    print(f"\nauto - random: {100 * (statistics.mean(rows['auto']) - statistics.mean(rows['random'])):+.2f} points")


def compare_stopping(storage: str, seeds: int, jobs: int, epochs: int) -> None:
    methods = {
        "full search": {},
        "median stopping": {"resource_args": {"early_stop": {"name": "median", "n_startup_jobs": 3}}},
        "successive halving": {"resource_args": {"early_stop": {"name": "successive_halving", "min_steps": 1,
                                                                "max_steps": epochs, "reduction_factor": 2}}},
        "asha": {"proposer": "asha", "n_samples": jobs,
                 "proposer_args": {"min_budget": 1, "max_budget": epochs, "eta": 3, "budget_name": "epochs"}},
    }
    results: dict[str, list[tuple[float, int]]] = {m: [] for m in methods}
    for seed in range(seeds):
        for method, spec in methods.items():
            result = run(f"{method.replace(' ', '-')}-{seed}", storage, seed, jobs, epochs, **spec)
            results[method].append((best(result), epochs_trained(result)))
    full_best = statistics.mean(b for b, _ in results["full search"])
    full_epochs = statistics.mean(e for _, e in results["full search"])
    print(f"\n## early stopping on MNIST ({seeds} seeds, {jobs} configurations, {epochs} epochs each)\n")
    print("| method | mean best accuracy | vs full (points) | mean epochs | epochs vs full |\n|---|---|---|---|---|")
    for method, values in results.items():
        acc = statistics.mean(b for b, _ in values)
        spent = statistics.mean(e for _, e in values)
        print(f"| {method} | {acc:.4f} | {100 * (acc - full_best):+.2f} | {spent:.0f} | {spent / full_epochs:.0%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--only", choices=("proposers", "stopping"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tunelab-mnist-") as folder:
        storage = f"sqlite:///{folder}/db.sqlite"
        if args.only != "stopping":
            compare_proposers(storage, args.seeds, args.jobs, args.epochs)
        if args.only != "proposers":
            compare_stopping(storage, args.seeds, args.jobs, args.epochs)


if __name__ == "__main__":
    main()
