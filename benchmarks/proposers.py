"""tunelab's proposers next to random search, Optuna, hyperopt, SMAC3, Ax and nevergrad, in one run.

Every optimizer minimizes the shared problems of ``../shared/benchmarks/problems.py``
(branin, hartmann6, ackley10, rosenbrock6, levy8, styblinski_tang8, mixed6 and
hgb_breast_cancer) and variants of them whose optimum is moved away from the centre of the
box, drawn per seed (``shifted_problems.py``); with ``--problems``, also tunelab's own
problems of ``extra_problems.py``. It runs ``--budgets`` evaluations with ``--seeds`` seeds.
tunelab's proposers run through the public ask/tell :class:`tunelab.Optimizer`; the peers
through their own ask/tell (Optuna and OptunaHub's AutoSampler, SMAC3, Ax's ``Client``,
nevergrad's NGOpt) or ``fmin`` (hyperopt). Peers are imported lazily
(``pip install -e .[bench]``); a missing one is skipped with a note.

An optimizer that does not know the budget makes the same first 50 proposals whether it
is given 50 or 100, so it runs once at the largest budget and each smaller budget reads
the prefix. ``auto`` is told the budget (``n_samples``): it runs once per budget where its
plan depends on the budget, else once (its proposals are then the same). NGOpt is told
the budget too and runs once per budget.

Printed per problem and budget: median best value, median log10 simple regret (for
problems whose optimum is unknown, the plain regret against the best value seen: for
``hgb_breast_cancer`` 0.0228 or lower if this run finds lower), mean rank over seeds (1 is best,
ties share their mean rank) and each optimizer's median time per proposal (ask + tell,
the objective excluded). Then the overall mean rank, and the cost of one proposal with a
long history (``tpe`` with 1,000 finished jobs in 10 dimensions, ``gp`` with 200).

Usage::

    python benchmarks/proposers.py                       # everything, 10 seeds, budgets 50 and 100
    python benchmarks/proposers.py --quick               # 3 seeds, budget 50
    python benchmarks/proposers.py --problems branin,mixed6 --optimizers auto,gp,optuna_gp --jobs 2

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
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from scipy.stats import rankdata  # noqa: E402

import tunelab  # noqa: E402


def shared_benchmarks() -> Path:
    """The folder holding ``problems.py``: ``$TUNELAB_SHARED`` (the shared folder or its
    ``benchmarks`` subfolder), else ``shared/benchmarks`` beside the repository."""
    root = Path(os.environ.get("TUNELAB_SHARED") or Path(__file__).resolve().parents[2] / "shared")
    return root if (root / "problems.py").exists() else root / "benchmarks"


sys.path.insert(0, str(shared_benchmarks()))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import problems as shared  # noqa: E402
from extra_problems import EXTRA  # noqa: E402
from shifted_problems import DEFAULT as DEFAULT_SHIFTED  # noqa: E402
from shifted_problems import ORIGINALS, SHIFTED  # noqa: E402

HGB = "hgb_breast_cancer"
HGB_BEST = 0.0228
"""Best 3-fold CV error ever seen on hgb_breast_cancer (its regret reference)."""

OURS = ("auto", "tpe", "gp", "smac", "cmaes", "anneal", "evolution", "qmc", "random")
PEERS = ("optuna_tpe", "optuna_tpe_uni", "optuna_gp", "optuna_cmaes", "optuna_auto", "hyperopt_tpe", "smac3_hpo",
         "ax", "ax_rs", "ngopt", "ngopt_rs")
BUDGET_AWARE = ("auto", "ngopt", "ngopt_rs")
PEER_MODULE = {"optuna_tpe": "optuna", "optuna_tpe_uni": "optuna", "optuna_gp": "torch",
               "optuna_cmaes": "optuna", "optuna_auto": "torch", "hyperopt_tpe": "hyperopt", "smac3_hpo": "smac",
               "ax": "ax", "ax_rs": "ax", "ngopt": "nevergrad", "ngopt_rs": "nevergrad"}
VENDOR = Path(__file__).resolve().parent / "vendor"
"""Local copies of peers that are otherwise downloaded at run time (see ``vendor/README.md``)."""
REGRET_FLOOR = 1e-12
RANDOM_START_SALT = 4241
"""Salt of the random start of ``ngopt_rs`` (so it is not the draw of the shifted optimum)."""

Objective = Callable[[dict[str, Any]], float]


OWN = {**EXTRA, **ORIGINALS}
"""Problems of our own, by name (factories without arguments, as the shared ones)."""


def get_problem(name: str, seed: int = 0) -> shared.Problem:
    """A shared problem, one of ``extra_problems.py``, or a variant of ``shifted_problems.py``
    (drawn for ``seed``; its optimum value is the same for every seed)."""
    if name in SHIFTED:
        return SHIFTED[name](seed)
    return OWN[name]() if name in OWN else shared.get_problem(name)


@dataclass
class Run:
    """One optimizer on one problem with one seed."""

    optimizer: str
    problem: str
    budget: int
    seed: int
    values: list[float]
    seconds: list[float]


# --- optimizers ----------------------------------------------------------------------


def parameter_config(problem: shared.Problem) -> list[dict[str, Any]]:
    """The problem's space as a tunelab ``parameter_config``."""
    out = []
    for p in problem.params:
        if p.kind == "categorical":
            out.append({"name": p.name, "type": "choice", "range": list(p.choices)})
        else:
            out.append({"name": p.name, "type": p.kind, "range": [p.low, p.high], "log": p.log})
    return out


def ask_tell(name: str, problem: shared.Problem, budget: int, seed: int,
             ask: Callable[[], tuple[Any, dict[str, Any]]], tell: Callable[[Any, float], None]) -> Run:
    """A serial loop of ``budget`` proposals: ``ask()`` gives a handle and a config, ``tell``
    takes the handle and the value; a proposal's time is ask + tell, the objective excluded."""
    values, seconds = [], []
    for _ in range(budget):
        start = time.perf_counter()
        handle, config = ask()
        elapsed = time.perf_counter() - start
        value = problem(config)
        start = time.perf_counter()
        tell(handle, value)
        seconds.append(elapsed + time.perf_counter() - start)
        values.append(value)
    return Run(name, problem.name, budget, seed, values, seconds)


def run_tunelab(name: str, problem: shared.Problem, budget: int, seed: int) -> Run:
    """A serial ask/tell loop of tunelab proposer ``name``."""
    options = {"n_samples": budget} if name in BUDGET_AWARE else {}
    opt = tunelab.Optimizer(parameter_config(problem), proposer=name, random_seed=seed, **options)

    def ask() -> tuple[Any, dict[str, Any]]:
        config = opt.ask()
        return config, config

    return ask_tell(name, problem, budget, seed, ask, opt.tell)


def _optuna_sampler(name: str, seed: int) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    samplers = optuna.samplers
    return {"optuna_tpe": lambda: samplers.TPESampler(seed=seed),
            "optuna_tpe_uni": lambda: samplers.TPESampler(seed=seed, multivariate=False),
            "optuna_gp": lambda: samplers.GPSampler(seed=seed),
            "optuna_cmaes": lambda: samplers.CmaEsSampler(seed=seed),
            "optuna_auto": lambda: _auto_sampler(seed)}[name]()


def _auto_sampler(seed: int) -> Any:
    """OptunaHub's AutoSampler, imported from the local copy in ``vendor/auto_sampler``
    (``optunahub.load_module`` would download it at run time)."""
    sys.path.insert(0, str(VENDOR))
    from auto_sampler import AutoSampler

    return AutoSampler(seed=seed)


def _optuna_suggest(trial: Any, problem: shared.Problem) -> dict[str, Any]:
    config = {}
    for p in problem.params:
        if p.kind == "categorical":
            config[p.name] = trial.suggest_categorical(p.name, list(p.choices))
        elif p.kind == "int":
            config[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)
        else:
            config[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
    return config


def run_optuna(name: str, problem: shared.Problem, budget: int, seed: int) -> Run:
    """Optuna's ask/tell loop with one of its samplers (defaults, only the seed set)."""
    import optuna

    study = optuna.create_study(sampler=_optuna_sampler(name, seed))

    def ask() -> tuple[Any, dict[str, Any]]:
        trial = study.ask()
        return trial, _optuna_suggest(trial, problem)

    return ask_tell(name, problem, budget, seed, ask, study.tell)


def _hyperopt_space(problem: shared.Problem) -> dict[str, Any]:
    from hyperopt import hp

    space: dict[str, Any] = {}
    for p in problem.params:
        if p.kind == "categorical":
            space[p.name] = hp.choice(p.name, list(p.choices))
        elif p.kind == "int" and p.log:
            space[p.name] = hp.qloguniform(p.name, math.log(p.low), math.log(p.high), 1)
        elif p.kind == "int":
            space[p.name] = hp.quniform(p.name, p.low, p.high, 1)
        elif p.log:
            space[p.name] = hp.loguniform(p.name, math.log(p.low), math.log(p.high))
        else:
            space[p.name] = hp.uniform(p.name, p.low, p.high)
    return space


def run_hyperopt(name: str, problem: shared.Problem, budget: int, seed: int) -> Run:
    """hyperopt's ``fmin`` with TPE; a proposal's time is the gap between two objective calls."""
    from hyperopt import Trials, fmin, tpe

    ints = {p.name: p for p in problem.params if p.kind == "int"}
    values: list[float] = []
    seconds: list[float] = []
    clock = {"last": time.perf_counter()}

    def objective(config: dict[str, Any]) -> float:
        seconds.append(time.perf_counter() - clock["last"])
        config = {k: min(max(int(round(v)), int(ints[k].low)), int(ints[k].high)) if k in ints else v
                  for k, v in config.items()}
        value = problem(config)
        values.append(value)
        clock["last"] = time.perf_counter()
        return value

    fmin(objective, _hyperopt_space(problem), algo=tpe.suggest, max_evals=budget, trials=Trials(),
         rstate=np.random.default_rng(seed), show_progressbar=False)
    return Run(name, problem.name, budget, seed, values, seconds)


def run_smac3(name: str, problem: shared.Problem, budget: int, seed: int) -> Run:
    """SMAC3's hyperparameter-optimization facade through its ask/tell interface."""
    from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer
    from smac import HyperparameterOptimizationFacade, Scenario
    from smac.runhistory.dataclasses import TrialValue

    space = ConfigurationSpace(seed=seed)
    for p in problem.params:
        if p.kind == "categorical":
            space.add(Categorical(p.name, list(p.choices)))
        elif p.kind == "int":
            space.add(Integer(p.name, (int(p.low), int(p.high)), log=p.log))
        else:
            space.add(Float(p.name, (float(p.low), float(p.high)), log=p.log))

    def unused(config: Any, seed: int = 0) -> float:
        raise RuntimeError("the ask/tell loop evaluates configs itself")

    with tempfile.TemporaryDirectory() as folder:
        scenario = Scenario(space, deterministic=True, n_trials=budget, seed=seed, output_directory=Path(folder))
        smac = HyperparameterOptimizationFacade(scenario, unused, overwrite=True, logging_level=40)

        def ask() -> tuple[Any, dict[str, Any]]:
            info = smac.ask()
            return info, dict(info.config)

        return ask_tell(name, problem, budget, seed, ask, lambda info, value: smac.tell(info, TrialValue(cost=value)))


def run_ax(name: str, problem: shared.Problem, budget: int, seed: int) -> Run:
    """Ax's ``Client`` with its default generation strategy (a Sobol start that includes the
    centre of the box, then BoTorch); ``ax_rs`` leaves the centre out of the start."""
    from ax import ChoiceParameterConfig, Client, RangeParameterConfig

    parameters: list[Any] = []
    for p in problem.params:
        if p.kind == "categorical":
            parameters.append(ChoiceParameterConfig(name=p.name, values=list(p.choices), parameter_type="str",
                                                    is_ordered=False))
        else:
            parameters.append(RangeParameterConfig(name=p.name, bounds=(p.low, p.high), parameter_type=p.kind,
                                                   scaling="log" if p.log else "linear"))
    client = Client(random_seed=seed)
    client.configure_experiment(parameters=parameters)
    client.configure_optimization(objective="-loss")
    if name == "ax_rs":
        client.configure_generation_strategy(initialize_with_center=False)

    def ask() -> tuple[Any, dict[str, Any]]:
        ((index, config),) = client.get_next_trials(max_trials=1).items()
        return index, dict(config)

    return ask_tell(name, problem, budget, seed, ask,
                    lambda index, value: client.complete_trial(index, raw_data={"loss": value}))


def _nevergrad_space(problem: shared.Problem, seed: int, random_start: bool = False) -> Any:
    """The problem's space for nevergrad; numbers start at the centre of their range (nevergrad's
    default), or with ``random_start`` at a point drawn from the seed (choices keep their default)."""
    import nevergrad as ng

    start = np.random.default_rng([seed, RANDOM_START_SALT])
    space = {}
    for p in problem.params:
        if p.kind == "categorical":
            space[p.name] = ng.p.Choice(list(p.choices))
            continue
        kind = ng.p.Log if p.log else ng.p.Scalar
        init = None
        if random_start:
            low, high = (math.log(p.low), math.log(p.high)) if p.log else (p.low, p.high)
            init = float(start.uniform(low, high))
            init = math.exp(init) if p.log else init
        scalar = kind(lower=p.low, upper=p.high) if init is None else kind(init=init, lower=p.low, upper=p.high)
        space[p.name] = scalar.set_integer_casting() if p.kind == "int" else scalar
    parametrization = ng.p.Dict(**space)
    parametrization.random_state = np.random.RandomState(seed)
    return parametrization


def run_nevergrad(name: str, problem: shared.Problem, budget: int, seed: int) -> Run:
    """nevergrad's NGOpt meta-optimizer (told the budget, one worker) through ask/tell; ``ngopt_rs``
    starts it at a random point instead of the centre of the box."""
    import nevergrad as ng

    space = _nevergrad_space(problem, seed, random_start=name == "ngopt_rs")
    optimizer = ng.optimizers.NGOpt(parametrization=space, budget=budget, num_workers=1)

    def ask() -> tuple[Any, dict[str, Any]]:
        candidate = optimizer.ask()
        return candidate, dict(candidate.value)

    return ask_tell(name, problem, budget, seed, ask, optimizer.tell)


def runner(name: str) -> Callable[[str, shared.Problem, int, int], Run]:
    """The function running optimizer ``name``."""
    if name in OURS:
        return run_tunelab
    if name.startswith("optuna"):
        return run_optuna
    return {"hyperopt_tpe": run_hyperopt, "smac3_hpo": run_smac3, "ax": run_ax, "ax_rs": run_ax, "ngopt": run_nevergrad,
            "ngopt_rs": run_nevergrad}[name]


def missing(name: str) -> str | None:
    """Why optimizer ``name`` cannot run here (a package or the vendored copy is missing), or None."""
    module = PEER_MODULE.get(name)
    if module is not None and importlib.util.find_spec(module) is None:
        return f"{module} is not installed; pip install -e .[bench]"
    if name == "optuna_auto" and not (VENDOR / "auto_sampler" / "_sampler.py").exists():
        return f"{VENDOR / 'auto_sampler'} is missing"
    return None


def execute(task: tuple[str, str, int, int]) -> Run:
    """Run one task ``(optimizer, problem, budget, seed)`` (in a worker process)."""
    name, problem_name, budget, seed = task
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    return runner(name)(name, get_problem(problem_name, seed), budget, seed)


# --- statistics ----------------------------------------------------------------------


def regret(best: float, reference: float, exact: bool) -> float:
    """log10 simple regret, or the plain regret when the optimum is unknown (not ``exact``)."""
    if not exact:
        return best - reference
    return math.log10(max(best - reference, REGRET_FLOOR))


def summarize(runs: list[Run], names: list[str], problem_names: list[str], budgets: list[int]
              ) -> dict[str, Any]:
    """Per problem and budget: median best, median regret, mean rank and ms per proposal."""
    table: dict[str, Any] = {}
    for problem_name in problem_names:
        problem = get_problem(problem_name)
        mine = [r for r in runs if r.problem == problem_name]
        exact = problem.optimum is not None
        reference = problem.optimum
        if not exact:
            reference = min([HGB_BEST if problem_name == HGB else math.inf] + [min(r.values) for r in mine])
        table[problem_name] = {"reference": reference, "exact": exact, "budgets": {}}
        for budget in budgets:
            best = {}
            for r in sorted(mine, key=lambda r: -r.budget):  # a run at exactly this budget wins
                if r.budget >= budget:
                    best[(r.optimizer, r.seed)] = min(r.values[:budget])
            seeds = sorted({s for _, s in best})
            present = [n for n in names if all((n, s) in best for s in seeds)]
            ranks = np.array([rankdata([best[(n, s)] for n in present]) for s in seeds]).reshape(len(seeds), -1)
            rows = {}
            for k, name in enumerate(present):
                bests = [best[(name, s)] for s in seeds]
                rows[name] = {"median_best": float(np.median(bests)),
                              "median_regret": float(np.median([regret(b, reference, exact) for b in bests])),
                              "mean_rank": float(np.mean(ranks[:, k]))}
            table[problem_name]["budgets"][str(budget)] = rows
        table[problem_name]["ms_per_proposal"] = {
            name: 1000 * float(np.median([t for r in mine if r.optimizer == name for t in r.seconds]))
            for name in names if any(r.optimizer == name for r in mine)}
    return table


def overall_ranks(table: dict[str, Any], budgets: list[int]) -> dict[str, dict[str, float]]:
    """Mean over problems of each optimizer's mean rank, per budget and over both."""
    out: dict[str, dict[str, float]] = {}
    for budget in [*map(str, budgets), "all"]:
        keys = list(map(str, budgets)) if budget == "all" else [budget]
        collected: dict[str, list[float]] = {}
        for entry in table.values():
            for key in keys:
                for name, row in entry["budgets"][key].items():
                    collected.setdefault(name, []).append(row["mean_rank"])
        out[budget] = {name: float(np.mean(v)) for name, v in collected.items()}
    return out


# --- cost with a long history ----------------------------------------------------------


def cost_of_one_proposal(name: str, n_history: int, dim: int = 10, repeats: int = 7) -> float:
    """Median seconds of ``ask()`` for proposer ``name`` after ``n_history`` finished jobs.

    The history is told through the public API: ``n_history`` random configs passed as
    ``initial_configs`` are asked (no model involved) and told a sphere's value; then a
    few untimed asks take the proposer past its start-up design.
    """
    config = [{"name": f"x{i}", "type": "float", "range": [-5.0, 5.0]} for i in range(dim)]
    rng = np.random.default_rng(0)
    history = [{f"x{i}": float(v) for i, v in enumerate(rng.uniform(-5, 5, dim))} for _ in range(n_history)]
    opt = tunelab.Optimizer(config, proposer=name, random_seed=0, initial_configs=history)
    sphere = lambda c: float(sum(v * v for v in c.values()))  # noqa: E731
    for _ in range(n_history + _WARM_UP):  # the warm-up asks leave the proposer's start-up phase
        c = opt.ask()
        opt.tell(c, sphere(c))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        c = opt.ask()
        times.append(time.perf_counter() - start)
        opt.tell(c, sphere(c))
    return float(np.median(times))


_WARM_UP = 12

COST_CASES = (("tpe", 1000, 0.010), ("gp", 200, 1.0), ("gp", 1000, None), ("smac", 1000, None), ("cmaes", 1000, None))
"""(proposer, finished jobs, target seconds or None) of the cost table, in 10 dimensions."""


def cost_table() -> list[dict[str, Any]]:
    """Measure and print the cost of one proposal for every case of ``COST_CASES``."""
    costs = [{"proposer": p, "history": h, "seconds": cost_of_one_proposal(p, h), "target_s": t}
             for p, h, t in COST_CASES]
    print_costs(costs)
    return costs


# --- printing --------------------------------------------------------------------------


def fmt(value: float, digits: int = 3) -> str:
    """A compact number for the tables."""
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.{digits}f}"
    return f"{value:.2e}"


def print_problem(problem_name: str, entry: dict[str, Any], names: list[str]) -> None:
    """The table of one problem: a block of columns per budget, then ms per proposal."""
    budgets = list(entry["budgets"])
    label = "log10 regret" if entry.get("exact", problem_name != HGB) else "regret"
    print(f"\n## {problem_name}  (reference optimum {entry['reference']:.6g}; {label}; rank 1 is best)")
    header = ["optimizer"] + [f"{col} @{b}" for b in budgets for col in ("median best", label, "rank")] + ["ms/proposal"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name in names:
        if name not in entry["ms_per_proposal"]:
            continue
        cells = [name]
        for b in budgets:
            row = entry["budgets"][b].get(name)
            cells += ["-"] * 3 if row is None else [fmt(row["median_best"], 4), fmt(row["median_regret"], 2 if label == "log10 regret" else 4),
                                                    f"{row['mean_rank']:.2f}"]
        cells.append(fmt(entry["ms_per_proposal"][name], 1))
        print("| " + " | ".join(cells) + " |")


def print_overall(ranks: dict[str, dict[str, float]]) -> None:
    """The overall mean-rank table, best first."""
    keys = list(ranks)
    print("\n## Mean rank over all problems (1 is best)")
    print("| optimizer | " + " | ".join(f"budget {k}" if k != "all" else "all budgets" for k in keys) + " |")
    print("|---|" + "---|" * len(keys))
    for name in sorted(ranks["all"], key=ranks["all"].get):
        print(f"| {name} | " + " | ".join(f"{ranks[k].get(name, float('nan')):.2f}" for k in keys) + " |")


def print_costs(costs: list[dict[str, Any]]) -> None:
    """The cost-of-one-proposal table."""
    print("\n## Time per proposal with a long history (10 float dimensions)")
    print("| proposer | finished jobs | ms per ask | target |")
    print("|---|---|---|---|")
    for row in costs:
        target = "-" if row["target_s"] is None else f"< {1000 * row['target_s']:.0f} ms"
        print(f"| {row['proposer']} | {row['history']} | {1000 * row['seconds']:.1f} | {target} |")


# --- main ------------------------------------------------------------------------------


def _plans_differ(problem_name: str, budgets: list[int]) -> bool:
    """True when ``auto`` would search differently for some of ``budgets`` (else a run at the
    largest budget holds the smaller ones as prefixes, proposal for proposal)."""
    from tunelab.proposers._auto import SpaceKind, choose

    kind = SpaceKind.of(tunelab.Optimizer(parameter_config(get_problem(problem_name)), "random").space)
    return len({choose(kind, budget, 1) for budget in budgets}) > 1


def tasks_for(names: list[str], problem_names: list[str], budgets: list[int], seeds: list[int]
              ) -> list[tuple[str, str, int, int]]:
    """Every run to make, seed by seed (a stopped run leaves whole seeds in ``--log``), slow
    problems and optimizers first within a seed."""
    tasks = []
    for name in names:
        for problem_name in problem_names:
            aware = name in BUDGET_AWARE and (name != "auto" or _plans_differ(problem_name, budgets))
            runs_at = budgets if aware else [max(budgets)]
            tasks += [(name, problem_name, b, s) for b in runs_at for s in seeds]
    slow = {"ax": 0, "ax_rs": 0, "smac3_hpo": 0, "optuna_gp": 1, "optuna_auto": 1, "gp": 1, "auto": 1, "smac": 2}
    return sorted(tasks, key=lambda t: (t[3], t[1] != HGB, slow.get(t[0], 3), -t[2]))


def run_all(tasks: list[tuple[str, str, int, int]], jobs: int, started: float, log: Path | None) -> list[Run]:
    """Every task in ``jobs`` worker processes, with a progress line on stderr every 5%;
    each finished run is appended to ``log`` (JSON lines) when given."""
    runs = []
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(execute, task) for task in tasks]
        for done, future in enumerate(as_completed(futures), 1):
            runs.append(future.result())
            if log is not None:
                with log.open("a") as stream:
                    stream.write(json.dumps(asdict(runs[-1])) + "\n")
            if done % max(1, len(tasks) // 20) == 0 or done == len(tasks):
                print(f"  {done}/{len(tasks)} runs, {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    return runs


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", default=",".join([*shared.PUBLIC, *DEFAULT_SHIFTED]),
                        help="comma-separated problem names")
    parser.add_argument("--budgets", default="50,100", help="comma-separated evaluation budgets")
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds (first .. first+N-1)")
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed (to split a run over processes)")
    parser.add_argument("--optimizers", default=",".join(OURS + PEERS), help="comma-separated optimizer names")
    parser.add_argument("--quick", action="store_true", help="3 seeds, budget 50 (for development)")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes; at most 2 here)")
    parser.add_argument("--no-cost", action="store_true", help="skip the long-history cost table")
    parser.add_argument("--log", default=None, help="append every finished run to this JSON-lines file")
    parser.add_argument("--from-log", default=None, metavar="JSONL",
                        help="print the tables of the seeds complete in a --log file (runs nothing)")
    parser.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                        help="print and save the tables of earlier results files together (runs nothing)")
    parser.add_argument("--out", default=None, help="results JSON path (default benchmarks/results/proposers-<time>.json)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.budgets = min(args.seeds, 3), "50"
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables and save the JSON."""
    args = parse_args(argv)
    if args.merge:
        return merge(args)
    if args.from_log:
        return from_log(args)
    problem_names = [p for p in args.problems.split(",") if p]
    budgets = sorted(int(b) for b in args.budgets.split(","))
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    names = []
    for name in [n for n in args.optimizers.split(",") if n]:
        if name not in OURS + PEERS:
            raise SystemExit(f"--optimizers: unknown name {name!r}; choose from {', '.join(OURS + PEERS)}")
        reason = missing(name)
        if reason is None:
            names.append(name)
        else:
            print(f"note: {name} skipped ({reason})")
    for problem_name in problem_names:
        if problem_name not in shared.PUBLIC and problem_name not in OWN and problem_name not in SHIFTED:
            raise SystemExit(f"--problems: unknown name {problem_name!r}; choose from "
                             f"{', '.join([*shared.PUBLIC, *OWN, *SHIFTED])}")
    tasks = tasks_for(names, problem_names, budgets, seeds)
    print(f"{len(tasks)} runs: {len(names)} optimizers x {len(problem_names)} problems x {len(seeds)} seeds, "
          f"budgets {budgets}, {args.jobs} process(es)", flush=True)
    started = time.time()
    runs = run_all(tasks, args.jobs, started, Path(args.log) if args.log else None)
    run_seconds = time.time() - started
    table = summarize(runs, names, problem_names, budgets)
    for problem_name in problem_names:
        print_problem(problem_name, table[problem_name], names)
    ranks = overall_ranks(table, budgets)
    print_overall(ranks)
    costs = [] if args.no_cost else cost_table()
    total = time.time() - started
    print(f"\nruns took {run_seconds:.0f} s, everything {total:.0f} s ({args.jobs} process(es), {os.cpu_count()} cores)")
    save(args, table, ranks, costs, run_seconds, total)
    return 0


def from_log(args: argparse.Namespace) -> int:
    """Print and save the tables of the seeds whose runs are all in a ``--log`` file."""
    runs = [Run(**json.loads(line)) for line in Path(args.from_log).read_text().splitlines() if line.strip()]
    names = [name for name in OURS + PEERS if any(r.optimizer == name for r in runs)]
    problem_names = list(dict.fromkeys(r.problem for r in runs))
    budgets = sorted(int(b) for b in args.budgets.split(","))
    per_seed = {s: {(r.optimizer, r.problem) for r in runs if r.seed == s} for s in {r.seed for r in runs}}
    complete = {s for s, done in per_seed.items() if len(done) == len(names) * len(problem_names)}
    if not complete:
        print(f"no seed is complete yet in {args.from_log}")
        return 1
    runs = [r for r in runs if r.seed in complete]
    table = summarize(runs, names, problem_names, budgets)
    for problem_name in problem_names:
        print_problem(problem_name, table[problem_name], names)
    ranks = overall_ranks(table, budgets)
    print_overall(ranks)
    costs = [] if args.no_cost else cost_table()
    print(f"\n{len(complete)} complete seeds: {sorted(complete)}")
    save(args, table, ranks, costs, 0.0, 0.0)
    return 0


def merge(args: argparse.Namespace) -> int:
    """Print and save the tables of several results files as one (problems from later files win)."""
    table: dict[str, Any] = {}
    costs: list[dict[str, Any]] = []
    seconds = 0.0
    for path in args.merge:
        data = json.loads(Path(path).read_text())
        table.update(data["problems"])
        costs = data["cost"] or costs
        seconds += data["meta"]["total_seconds"]
    present = {name for entry in table.values() for name in entry["ms_per_proposal"]}
    names = [name for name in OURS + PEERS if name in present]
    for problem_name, entry in table.items():
        print_problem(problem_name, entry, names)
    budgets = sorted({int(b) for entry in table.values() for b in entry["budgets"]})
    ranks = overall_ranks(table, budgets)
    print_overall(ranks)
    if costs:
        print_costs(costs)
    print(f"\nmerged {len(args.merge)} files; their runs took {seconds:.0f} s in all")
    save(args, table, ranks, costs, seconds, seconds)
    return 0


def save(args: argparse.Namespace, table: dict[str, Any], ranks: dict[str, Any], costs: list[dict[str, Any]],
         run_seconds: float, total: float) -> None:
    """Write the summary (no per-run traces: a small file) to ``benchmarks/results/``."""
    folder = Path(__file__).resolve().parent / "results"
    path = Path(args.out) if args.out else folder / f"proposers-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"argv": sys.argv[1:], "python": platform.python_version(), "cores": os.cpu_count(),
            "jobs": args.jobs, "seeds": args.seeds, "budgets": args.budgets, "run_seconds": round(run_seconds, 1),
            "total_seconds": round(total, 1)}
    path.write_text(json.dumps({"meta": meta, "problems": table, "mean_rank": ranks, "cost": costs}, indent=1))
    print(f"saved {path}")


if __name__ == "__main__":
    raise SystemExit(main())
