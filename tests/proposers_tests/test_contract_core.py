"""Contract, quality and cost checks shared by tpe, anneal, evolution, qmc and cmaes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tunelab.proposers as proposers
from tests.proposers_tests._serial import serial_run
from tunelab.proposers import JobView, Search, create
from tunelab.space import Choice, Constant, Float, Int, Ordinal, Space

# Small options so every model leaves its start-up phase within a short test run.
OPTIONS: dict[str, dict] = {
    "tpe": {"n_startup_jobs": 4},
    "anneal": {"n_startup_jobs": 3},
    "evolution": {"population_size": 4},
    "qmc": {},
    "cmaes": {"popsize": 4},
}
NAMES = sorted(OPTIONS)


def mixed_space() -> Space:
    return Space([
        Float("lr", 1e-4, 1e-1, log=True),
        Int("layers", 1, 9, step=2),
        Float("dropout", 0.0, 0.5, step=0.05),
        Ordinal("batch", [16, 32, 64, 128]),
        Choice("opt", ["adam", "sgd", "rms"]),
        Float("momentum", 0.0, 0.99, when={"opt": ["sgd"]}),
        Choice("nesterov", [True, False], when={"opt": ["sgd"]}),
        Int("units", 8, 512, log=True),
        Constant("epochs", 3),
    ])


def mixed_loss(config: dict) -> float:
    loss = (math.log10(config["lr"]) + 2.5) ** 2 + (config["layers"] - 5) ** 2 / 10 + config["dropout"]
    loss += {"adam": 0.0, "sgd": 0.3, "rms": 0.6}[config["opt"]] + math.log2(config["units"] / 64) ** 2 / 20
    if config["opt"] == "sgd":
        loss += (config["momentum"] - 0.9) ** 2 - 0.2 * config["nesterov"]
    return loss


def drive(name: str, seed: int, n_jobs: int, *, space: Space | None = None, fail_every: int = 0,
          loss=mixed_loss, options: dict | None = None) -> tuple[list[JobView], Search]:
    """A serial run through ``Search``: ask one, start it, end it; returns the jobs."""
    space = space or mixed_space()
    search = Search(space, create(name, space, seed=seed, options_=OPTIONS.get(name) if options is None else options))
    return serial_run(search, n_jobs, loss, fail_every=fail_every), search


def configs_json(jobs: list[JobView]) -> str:
    return json.dumps([job.config for job in jobs], sort_keys=True)


def test_registered_and_exported() -> None:
    for cls in ("AnnealProposer", "CMAESProposer", "EvolutionProposer", "QMCProposer", "TPEProposer"):
        assert cls in proposers.__all__
    assert set(NAMES) <= set(proposers.names())
    assert proposers.__all__ == sorted(proposers.__all__)


def sequences(seed: int) -> str:
    """Every proposer's serial sequence with ``seed``, as one JSON string."""
    return json.dumps({name: configs_json(drive(name, seed=seed, n_jobs=12)[0]) for name in NAMES})


def test_same_seed_same_sequence_in_a_fresh_process() -> None:
    here = json.loads(sequences(3))
    code = "import sys; sys.path.insert(0, sys.argv[1]); import test_contract_core as t; print(t.sequences(3))"
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)],
                         capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == here
    other = json.loads(sequences(4))
    assert all(other[name] != here[name] for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_resume_repeats_the_serial_run(name: str) -> None:
    serial, _ = drive(name, seed=7, n_jobs=16, fail_every=5)
    for k in (3, 6, 11, 15):
        space = mixed_space()
        search = Search(space, create(name, space, seed=7, options_=OPTIONS[name]))
        search.restore(JobView(j.number, j.config, j.status, j.loss, info=dict(j.info)) for j in serial[:k])
        (proposal,) = search.ask(1, running=[])
        assert proposal.config == serial[k].config, f"{name}: job {k} differs after resume"


@pytest.mark.parametrize("name", NAMES)
def test_configs_are_valid_on_a_conditional_space(name: str) -> None:
    jobs, _ = drive(name, seed=1, n_jobs=20)
    space = mixed_space()
    for job in jobs:
        assert space.validate(job.config) == job.config
        assert ("momentum" in job.config) == (job.config["opt"] == "sgd")
    assert any(job.config["opt"] == "sgd" for job in jobs)


@pytest.mark.parametrize("name", NAMES)
def test_parallel_proposals_are_distinct(name: str) -> None:
    _, search = drive(name, seed=2, n_jobs=10)
    space = mixed_space()
    batch = search.ask(4, running=[])
    running = [JobView(10 + i, p.config, "running", info=p.info) for i, p in enumerate(batch)]
    for job in running:
        search.started(job)
    more = search.proposer.propose(3, running)
    keys = [space.key(p.config) for p in batch + more]
    assert len(keys) == 7
    assert len(set(keys)) == 7


@pytest.mark.parametrize("name", NAMES)
def test_failed_jobs_are_tolerated(name: str) -> None:
    jobs, search = drive(name, seed=5, n_jobs=18, fail_every=2)
    assert sum(job.status == "failed" for job in jobs) == 9
    assert len(search.ask(2, running=[])) == 2


def branin(config: dict) -> float:
    x, y = config["x"], config["y"]
    return ((y - 5.1 / (4 * math.pi**2) * x**2 + 5 / math.pi * x - 6) ** 2
            + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10)


def best_of(name: str, seed: int) -> float:
    space = Space([Float("x", -5.0, 10.0), Float("y", 0.0, 15.0)])
    jobs, _ = drive(name, seed, 60, space=space, loss=branin, options={})
    return min(job.loss for job in jobs)  # type: ignore[type-var]


@pytest.fixture(scope="module")
def random_median() -> float:
    return float(np.median([best_of("random", seed) for seed in range(9)]))


@pytest.mark.parametrize("name", ["tpe", "anneal", "evolution", "cmaes"])
def test_beats_random_search_on_branin(name: str, random_median: float) -> None:
    # Global minimum 0.398; random search's median best of 60 is about 0.95.
    ours = float(np.median([best_of(name, seed) for seed in range(5)]))
    assert ours < 0.85 * random_median, f"{name}: median best {ours:.3f} vs random {random_median:.3f}"


def test_tpe_time_per_proposal_with_1000_jobs_in_10_dims() -> None:
    space = Space([Float(f"x{i}", -5.0, 5.0) for i in range(10)])
    proposer = create("tpe", space, seed=0)
    rng = np.random.default_rng(0)
    for number in range(1000):
        config = space.sample(rng)
        proposer.observe(JobView(number, config, "finished", loss=sum(v * v for v in config.values())))
    proposer.n_proposed = 1000
    proposer.propose(1, running=[])
    times = []
    for _ in range(15):
        proposer.n_proposed += 1
        start = time.perf_counter()
        proposer.propose(1, running=[])
        times.append(time.perf_counter() - start)
    assert float(np.median(times)) < 0.050
