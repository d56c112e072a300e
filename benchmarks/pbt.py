"""Population-based training beside Ray Tune's PBT, on the toy problem of examples/pbt.

The problem (``examples/pbt/quadratic.py``): a model whose best learning rate falls as it
trains; the score is the work left after 16 epochs of 10 steps (``remaining``, 0 is
perfect, below 0.05 is converged). Every method gets the same compute: a population of 4
(or 4 fixed configurations) trained for 16 epochs, 2 at a time, with the same PBT
settings (perturbation every epoch, quantile 0.25, resample probability 0.25, factors
1.2/0.8, learning rate log-uniform in [1e-4, 0.1]).

Methods:

* ``tunelab pbt``: the real engine (``tunelab.api.run``) running ``quadratic.py`` as a
  process per job, checkpoints copied by tunelab.
* ``Ray Tune PBT``: ``ray.tune.schedulers.PopulationBasedTraining`` (asynchronous) on a
  function trainable with the same dynamics and Ray checkpoints, 2 trials at a time (Ray
  on 2 CPUs, 1 per trial), or the whole population at once with ``--ray-all-at-once``.
* ``random``: 4 learning rates drawn log-uniformly, each trained 16 epochs (a plain
  search with the same compute); ``best fixed lr`` is the best any fixed rate can do
  (a dense grid), for reference.

Printed: per method the mean and median final score over the seeds, how many seeds
converged, the mean rank (1 is best) and the wall time per run.

    pip install -e ".[bench]"          # Ray Tune is in the bench extra
    python benchmarks/pbt.py --seeds 10 --json results/pbt.json
    python benchmarks/pbt.py --seeds 10 --methods "Ray Tune PBT" --ray-all-at-once --json results/pbt-ray-all-at-once.json
    python benchmarks/pbt.py --merge results/pbt.json results/pbt-ray-all-at-once.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import rankdata

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "pbt"
POPULATION, EPOCHS, PARALLEL = 4, 16, 2
LOW, HIGH = 1e-4, 0.1
SETTINGS = {"quantile_fraction": 0.25, "resample_probability": 0.25, "perturbation_factors": [1.2, 0.8]}


def _quadratic() -> Any:
    spec = importlib.util.spec_from_file_location("quadratic", EXAMPLE / "quadratic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


Q = _quadratic()


def run_tunelab(seed: int, folder: Path) -> float:
    """tunelab's pbt through the real engine; the best final ``remaining``."""
    import tunelab.api as api

    spec = {"name": f"pbt-{seed}", "script": str(EXAMPLE / "quadratic.py"), "proposer": "pbt",
            "proposer_args": {"population_size": POPULATION, "perturbation_interval": 1, "max_budget": EPOCHS,
                              **SETTINGS},
            "n_parallel": PARALLEL, "random_seed": seed, "target": "min",
            "parameter_config": [{"name": "lr", "type": "float", "range": [LOW, HIGH], "log": True}]}
    result = api.run(spec, storage=f"sqlite:///{folder / 'tunelab.db'}")
    return min(j.value for j in result.jobs if j.budget == EPOCHS and j.value is not None)


def _ray_trainable(config: dict[str, Any]) -> None:
    from ray import tune

    checkpoint = tune.get_checkpoint()
    remaining, steps = 1.0, 0
    if checkpoint:
        with checkpoint.as_directory() as folder:
            remaining, steps = Q.load(folder)
    while steps < EPOCHS * Q.STEPS_PER_UNIT:
        remaining = Q.train(remaining, config["lr"], Q.STEPS_PER_UNIT)
        steps += Q.STEPS_PER_UNIT
        with tempfile.TemporaryDirectory() as folder:
            Q.save(folder, remaining, steps)
            tune.report({"remaining": remaining, "steps": steps}, checkpoint=tune.Checkpoint.from_directory(folder))


RAY_CPUS = {"cpu": 1.0}
"""CPUs per Ray trial: 1 runs 2 members at a time, like tunelab; ``--ray-all-at-once``
gives each 0.5, so the whole population runs at once, as Ray's asynchronous PBT expects
(a member that has not started yet cannot be exploited, nor exploit)."""


def run_ray(seed: int, folder: Path) -> float:
    """Ray Tune's PopulationBasedTraining; the best final ``remaining``."""
    from ray import tune
    from ray.tune.schedulers import PopulationBasedTraining
    from ray.tune.search.basic_variant import BasicVariantGenerator

    random.seed(seed)
    np.random.seed(seed)
    pbt = PopulationBasedTraining(time_attr="training_iteration", perturbation_interval=1,
                                  hyperparam_mutations={"lr": tune.loguniform(LOW, HIGH)},
                                  quantile_fraction=SETTINGS["quantile_fraction"],
                                  resample_probability=SETTINGS["resample_probability"],
                                  perturbation_factors=tuple(SETTINGS["perturbation_factors"]))
    tuner = tune.Tuner(
        tune.with_resources(_ray_trainable, RAY_CPUS),
        param_space={"lr": tune.loguniform(LOW, HIGH)},
        tune_config=tune.TuneConfig(metric="remaining", mode="min", scheduler=pbt, num_samples=POPULATION,
                                    reuse_actors=True,
                                    search_alg=BasicVariantGenerator(random_state=seed)),
        run_config=tune.RunConfig(storage_path=str(folder / "ray"), name=f"pbt-{seed}", verbose=0,
                                  stop={"steps": EPOCHS * Q.STEPS_PER_UNIT}),
    )
    results = tuner.fit()
    finals = [r.metrics["remaining"] for r in results if r.metrics and r.metrics.get("steps") == EPOCHS * Q.STEPS_PER_UNIT]
    return min(finals)


def run_random(seed: int, folder: Path) -> float:
    """4 fixed learning rates, each trained fully (a plain search with the same compute)."""
    rng = np.random.default_rng(seed)
    rates = np.exp(rng.uniform(np.log(LOW), np.log(HIGH), POPULATION))
    return min(Q.train(1.0, float(lr), EPOCHS * Q.STEPS_PER_UNIT) for lr in rates)


METHODS = {"tunelab pbt": run_tunelab, "Ray Tune PBT": run_ray, "random": run_random}


def label(method: str, all_at_once: bool) -> str:
    """The method's name in the table (Ray's says how many members ran at once)."""
    if method != "Ray Tune PBT":
        return method
    return f"{method}, {'all 4 at once' if all_at_once else '2 at a time'}"


def print_table(scores: dict[str, list[float]], seconds: dict[str, float]) -> None:
    """Mean, median, converged seeds and mean rank (over the seeds every method ran)."""
    seeds = min(len(v) for v in scores.values())
    table = np.array([values[:seeds] for values in scores.values()])
    ranks = np.array([rankdata(table[:, s]) for s in range(seeds)]).T
    fixed = min(Q.train(1.0, float(lr), EPOCHS * Q.STEPS_PER_UNIT) for lr in np.geomspace(LOW, HIGH, 400))
    print(f"\n{seeds} seeds, population {POPULATION}, {EPOCHS} epochs, final `remaining` (lower is better; "
          f"converged below {Q.CONVERGED}); best fixed lr: {fixed:.4f}\n")
    print("| method | mean | median | converged | mean rank | seconds per run |")
    print("|---|---|---|---|---|---|")
    for i, method in enumerate(scores):
        values = table[i]
        print(f"| {method} | {values.mean():.4f} | {np.median(values):.4f} | {int((values < Q.CONVERGED).sum())}/{seeds} "
              f"| {ranks[i].mean():.2f} | {seconds[method] / len(scores[method]):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    parser.add_argument("--json", type=Path, help="write the raw scores here")
    parser.add_argument("--ray-all-at-once", action="store_true",
                        help="run Ray's whole population at once (0.5 CPU per trial) instead of 2 at a time")
    parser.add_argument("--merge", type=Path, nargs="*", help="print one table of earlier --json files; run nothing")
    args = parser.parse_args()
    if args.merge:
        runs = [json.loads(path.read_text()) for path in args.merge]
        print_table({m: v for run in runs for m, v in run["scores"].items()},
                    {m: v for run in runs for m, v in run["seconds"].items()})
        return
    RAY_CPUS["cpu"] = PARALLEL / POPULATION if args.ray_all_at_once else 1.0
    if "Ray Tune PBT" in args.methods:
        import ray

        ray.init(num_cpus=PARALLEL, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    names = {m: label(m, args.ray_all_at_once) for m in args.methods}
    scores: dict[str, list[float]] = {names[m]: [] for m in args.methods}
    seconds: dict[str, float] = {names[m]: 0.0 for m in args.methods}
    for seed in range(args.seeds):
        for method in args.methods:
            with tempfile.TemporaryDirectory() as folder:
                start = time.perf_counter()
                scores[names[method]].append(METHODS[method](seed, Path(folder)))
                seconds[names[method]] += time.perf_counter() - start
        print(f"seed {seed}: " + ", ".join(f"{m} {v[-1]:.4f}" for m, v in scores.items()), flush=True)
    print_table(scores, seconds)
    if args.json:
        args.json.write_text(json.dumps({"scores": scores, "seconds": seconds}, indent=1))


if __name__ == "__main__":
    main()
