"""Drives multi-fidelity proposers serially through Search, for the halving tests."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from typing import Any

from tests.conftest import SHARED
from tunelab.proposers import JobView, Proposal, Search, create
from tunelab.space import Float, Space

SPACE = Space([Float("x", -5.0, 10.0), Float("y", 0.0, 15.0)])
PROBLEMS_FILE = SHARED / "benchmarks" / "multifidelity.py"


def quadratic(config: dict, budget: float) -> float:
    """A toy loss that improves with budget, best at (1, 2)."""
    return (config["x"] - 1) ** 2 + (config["y"] - 2) ** 2 + 10.0 / budget


def run(name: str, options: dict[str, Any], *, seed: int = 0, jobs: int = 60,
        loss: Callable[[dict, float], float | None] = quadratic, space: Space = SPACE) -> list[JobView]:
    """Run ``jobs`` jobs one at a time; a None loss is a failed job."""
    search = Search(space, create(name, space, seed=seed, options_=options))
    history: list[JobView] = []
    while len(history) < jobs and not search.exhausted:
        proposal = search.ask(1, running=[])[0]
        job = to_job(len(history), proposal)
        search.started(job)
        value = loss(proposal.config, proposal.budget)
        job.status, job.loss = ("failed", None) if value is None else ("finished", value)
        search.ended(job)
        history.append(job)
    return history


def to_job(number: int, proposal: Proposal) -> JobView:
    return JobView(number, dict(proposal.config), budget=proposal.budget, info=dict(proposal.info))


def next_after_restore(name: str, options: dict[str, Any], history: list[JobView], k: int, n: int = 1,
                       seed: int = 0, space: Space = SPACE) -> list[tuple]:
    """The next ``n`` proposals of a fresh search restored from the first ``k`` jobs."""
    search = Search(space, create(name, space, seed=seed, options_=options))
    search.restore(history[:k])
    return [key(p) for p in search.ask(n, running=[])]


def key(p: Proposal | JobView) -> tuple:
    return (sorted(p.config.items()), p.budget, sorted(p.info.items()))


def shared_problem(name: str) -> Any:
    """One of the shared benchmark problems, loaded by path."""
    spec = importlib.util.spec_from_file_location("shared_multifidelity", PROBLEMS_FILE)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return next(p for p in module.PROBLEMS if p.name == name)


def best_full_for_epochs(name: str, options: dict[str, Any], problem: Any, seed: int, epochs: float) -> float:
    """Best full-budget value a proposer reaches within ``epochs`` (continuations pay new epochs only)."""
    space = Space([Float(p["name"], p["low"], p["high"]) for p in problem.space])
    search = Search(space, create(name, space, seed=seed, options_=options))
    spent, best, trained, number = 0.0, math.inf, {}, 0
    while spent < epochs:
        proposal = search.ask(1, running=[])[0]
        job = to_job(number, proposal)
        search.started(job)
        cid = proposal.info["config_id"]
        spent += proposal.budget - trained.get(cid, 0)
        trained[cid] = proposal.budget
        job.status, job.loss = "finished", problem(proposal.config, proposal.budget)
        if proposal.budget >= problem.max_budget and spent <= epochs:
            best = min(best, job.loss)
        search.ended(job)
        number += 1
    return best


def random_full_for_epochs(problem: Any, seed: int, epochs: float) -> float:
    """Best value of random search at full budget within ``epochs``."""
    space = Space([Float(p["name"], p["low"], p["high"]) for p in problem.space])
    proposer = create("random", space, seed=seed)
    runs = int(epochs // problem.max_budget)
    proposer.n_proposed = 0
    return min(problem(p.config, problem.max_budget) for p in proposer.propose(runs, running=[]))
