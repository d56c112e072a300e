"""Multi-fidelity comparison: tunelab's Hyperband, BOHB, ASHA and median stopping
against random search and peers, on the shared problems (budget 1..81).

Every method runs sequentially through the ask/tell :class:`tunelab.proposers.Search`
(peers through their own ask/tell) until it has spent ``30 * 81`` epochs. A continued
config pays only for its new epochs (checkpoints). Stopper-based methods report every
epoch and ask the stopper. Printed per problem: the median best full-budget value at
10, 20 and 30 full-training equivalents, the median regret at 30, and the mean rank.

    python benchmarks/multifidelity.py --seeds 10
    python benchmarks/multifidelity.py --quick
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import rankdata

from tunelab.proposers import JobView, Search, create
from tunelab.space import Choice, Float, Int, Space
from tunelab.stoppers import Decision, Stopper
from tunelab.stoppers import create as create_stopper

PROBLEMS_FILE = Path(os.environ.get("TUNELAB_SHARED") or Path(__file__).resolve().parents[2] / "shared") / "benchmarks" / "multifidelity.py"
MAX = 81
CHECKPOINTS = (10, 20, 30)


def space_of(problem: Any) -> Space:
    """The problem's parameter list as a tunelab space."""
    params = []
    for p in problem.space:
        if p["kind"] == "float":
            params.append(Float(p["name"], p["low"], p["high"], log=p.get("log", False)))
        elif p["kind"] == "int":
            params.append(Int(p["name"], p["low"], p["high"], log=p.get("log", False)))
        else:
            params.append(Choice(p["name"], p["choices"]))
    return Space(params)


class Tracker:
    """Epochs spent, and every full-budget value with the epochs spent when it was seen."""

    def __init__(self, total: int) -> None:
        self.total, self.spent = total, 0.0
        self.trained: dict[str, float] = {}
        self.fulls: list[tuple[float, float]] = []

    @property
    def over(self) -> bool:
        return self.spent >= self.total

    def pay(self, epochs: float) -> None:
        self.spent += epochs

    def full(self, value: float) -> None:
        self.fulls.append((self.spent, value))

    def train(self, key: str, budget: float, value: float) -> None:
        """Config ``key`` was trained up to ``budget`` and reached ``value``: pay only the
        epochs beyond its earlier training (it continues from its checkpoint)."""
        done = self.trained.get(key, 0)
        self.pay(max(budget - done, 0))
        self.trained[key] = max(budget, done)
        if budget >= MAX:
            self.full(value)

    @property
    def curve(self) -> dict[int, float]:
        """Best full-budget value within ``c`` full trainings, for each checkpoint ``c``."""
        return {c: min((v for s, v in self.fulls if s <= c * MAX), default=math.inf) for c in CHECKPOINTS}


def run_proposer(problem: Any, name: str, options: dict[str, Any], seed: int, total: int) -> dict[int, float]:
    """Drive a multi-fidelity tunelab proposer through Search, one job at a time."""
    search = Search(space_of(problem), create(name, space_of(problem), seed=seed, options_=options))
    track, number = Tracker(total), 0
    while not track.over and not search.exhausted:
        proposal = search.ask(1, running=[])[0]
        job = JobView(number, proposal.config, budget=proposal.budget, info=proposal.info)
        search.started(job)
        job.loss, job.status = problem(proposal.config, proposal.budget), "finished"
        track.train(proposal.info.get("config_id"), proposal.budget, job.loss)
        search.ended(job)
        number += 1
    return track.curve


def run_stopper(problem: Any, stopper: Stopper | None, seed: int, total: int, proposer: str = "random"
                ) -> dict[int, float]:
    """``proposer`` at full budget, reporting every epoch to ``stopper`` (None: no stopping)."""
    search = Search(space_of(problem), create(proposer, space_of(problem), seed=seed))
    track, history = Tracker(total), []
    while not track.over:
        proposal = search.ask(1, running=[])[0]
        job = JobView(len(history), proposal.config)
        search.started(job)
        history.append(job)
        for epoch in range(1, MAX + 1):
            job.intermediate.append((epoch, problem(proposal.config, epoch)))
            track.pay(1)
            if stopper is not None and epoch < MAX and stopper.decide(job, history) is Decision.STOP:
                job.status = "stopped"
                break
        else:
            job.status = "finished"
            track.full(job.intermediate[-1][1])
        job.loss = job.intermediate[-1][1]
        search.ended(job)
    return track.curve


def run_optuna(problem: Any, pruner_name: str, seed: int, total: int) -> dict[int, float]:
    """Optuna TPE with a pruner, reporting every epoch (bench-only import)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruners = {"median": lambda: optuna.pruners.MedianPruner(),
               "sha": lambda: optuna.pruners.SuccessiveHalvingPruner(),
               "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=MAX)}
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruners[pruner_name]())
    track = Tracker(total)
    while not track.over:
        trial = study.ask()
        cfg = {}
        for p in problem.space:
            if p["kind"] == "float":
                cfg[p["name"]] = trial.suggest_float(p["name"], p["low"], p["high"], log=p.get("log", False))
            elif p["kind"] == "int":
                cfg[p["name"]] = trial.suggest_int(p["name"], p["low"], p["high"], log=p.get("log", False))
            else:
                cfg[p["name"]] = trial.suggest_categorical(p["name"], p["choices"])
        value = math.nan
        for epoch in range(1, MAX + 1):
            value = problem(cfg, epoch)
            trial.report(value, epoch)
            track.pay(1)
            if epoch < MAX and trial.should_prune():
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                break
        else:
            track.full(value)
            study.tell(trial, value)
    return track.curve


def run_smac3(problem: Any, seed: int, total: int) -> dict[int, float]:
    """SMAC3's multi-fidelity facade (random forest + Hyperband) through ask/tell (bench-only import).

    SMAC3 evaluates a config at each budget afresh; it is charged like tunelab, only for
    the epochs beyond the largest budget the config already ran with (as with checkpoints).
    """
    import tempfile

    from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer
    from smac import MultiFidelityFacade, Scenario
    from smac.runhistory.dataclasses import TrialValue

    space = ConfigurationSpace(seed=seed)
    for p in problem.space:
        if p["kind"] == "float":
            space.add(Float(p["name"], (float(p["low"]), float(p["high"])), log=p.get("log", False)))
        elif p["kind"] == "int":
            space.add(Integer(p["name"], (int(p["low"]), int(p["high"])), log=p.get("log", False)))
        else:
            space.add(Categorical(p["name"], list(p["choices"])))

    def unused(config: Any, seed: int = 0, budget: float = 0.0) -> float:
        raise RuntimeError("the ask/tell loop evaluates configs itself")

    track = Tracker(total)
    with tempfile.TemporaryDirectory() as folder:
        scenario = Scenario(space, deterministic=True, n_trials=10**6, min_budget=1, max_budget=MAX, seed=seed,
                            output_directory=Path(folder))
        smac = MultiFidelityFacade(scenario, unused, overwrite=True, logging_level=40)
        while not track.over:
            info = smac.ask()
            config, budget = dict(info.config), int(round(info.budget))
            value = problem(config, budget)
            track.train(repr(sorted(config.items())), budget, value)
            smac.tell(info, TrialValue(cost=value))
    return track.curve


def load_problems() -> list[Any]:
    """The shared problems (their module has this file's name, so load it by path)."""
    spec = importlib.util.spec_from_file_location("shared_multifidelity", PROBLEMS_FILE)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return list(module.PROBLEMS)


def methods() -> dict[str, Callable[[Any, int, int], dict[int, float]]]:
    """Name → runner(problem, seed, total_epochs)."""
    out: dict[str, Callable[[Any, int, int], dict[int, float]]] = {
        "random (full budget)": lambda pr, s, t: run_stopper(pr, None, s, t),
        "tunelab hyperband": lambda pr, s, t: run_proposer(pr, "hyperband", {"max_iter": MAX}, s, t),
        "tunelab bohb": lambda pr, s, t: run_proposer(pr, "bohb", {"max_budget": MAX}, s, t),
        "tunelab asha (random)": lambda pr, s, t: run_proposer(pr, "asha", {"max_budget": MAX}, s, t),
        "tunelab random+median": lambda pr, s, t: run_stopper(pr, create_stopper("median"), s, t),
    }

    for model in ("tpe", "gp", "auto"):
        out[f"tunelab asha ({model})"] = lambda pr, s, t, m=model: run_proposer(
            pr, "asha", {"max_budget": MAX, "sampler": m}, s, t)
    out["tunelab tpe+median"] = lambda pr, s, t: run_stopper(pr, create_stopper("median"), s, t, "tpe")
    try:
        import optuna  # noqa: F401
        out["optuna tpe+median"] = lambda pr, s, t: run_optuna(pr, "median", s, t)
        out["optuna tpe+sha"] = lambda pr, s, t: run_optuna(pr, "sha", s, t)
        out["optuna tpe+hyperband"] = lambda pr, s, t: run_optuna(pr, "hyperband", s, t)
    except ImportError:
        print("note: optuna not installed; skipping its pruners")
    if importlib.util.find_spec("smac") is not None:
        out["smac3 multi-fidelity"] = run_smac3
    else:
        print("note: SMAC3 is not installed (pip install -e .[bench]); skipping its multi-fidelity facade")
    print("note: HpBandSter BOHB is not run: it pip-installs (0.7.4), but its Pyro4 master waited forever "
          "for the in-process worker here")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="3 seeds, mf_branin only")
    parser.add_argument("--only", default="", help="comma-separated substrings of method names to run")
    args = parser.parse_args()
    problems = load_problems()
    problems = problems[:1] if args.quick else problems
    seeds = range(3 if args.quick else args.seeds)
    chosen = methods()
    if args.only:
        chosen = {k: v for k, v in chosen.items() if any(s in k for s in args.only.split(","))}
    total = CHECKPOINTS[-1] * MAX
    for problem in problems:
        results: dict[str, np.ndarray] = {}
        seconds: dict[str, float] = {}
        for name, runner in chosen.items():
            start = time.perf_counter()
            curves = [runner(problem, seed, total) for seed in seeds]
            seconds[name] = (time.perf_counter() - start) / len(seeds)
            results[name] = np.array([[c.get(k, math.inf) for k in CHECKPOINTS] for c in curves])
        report(problem, results, seconds)


def report(problem: Any, results: dict[str, np.ndarray], seconds: dict[str, float]) -> None:
    """Print one problem's table."""
    finals = np.array([r[:, -1] for r in results.values()])  # methods x seeds
    reference = problem.optimum if problem.optimum is not None else float(np.min(finals))
    ranks = np.apply_along_axis(rankdata, 0, finals)  # ties share the mean of their ranks
    print(f"\n{problem.name}  (reference optimum {reference:.5g}; {finals.shape[1]} seeds; "
          f"budget in full trainings of {MAX} epochs)")
    print(f"{'method':<24}{'@10':>11}{'@20':>11}{'@30':>11}{'regret@30':>12}{'rank':>7}{'s/run':>8}")
    for i, (name, r) in enumerate(results.items()):
        med = np.median(r, axis=0)
        regret = np.median(r[:, -1] - reference)
        print(f"{name:<24}" + "".join(f"{v:>11.4g}" for v in med) + f"{regret:>12.4g}{ranks[i].mean():>7.2f}"
              f"{seconds[name]:>8.2f}")


if __name__ == "__main__":
    main()
