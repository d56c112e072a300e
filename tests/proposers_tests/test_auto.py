"""The ``auto`` proposer: its rules, its delegation and its resume."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import tunelab.proposers as proposers
from tests.proposers_tests._serial import serial_run
from tunelab.exceptions import UserError
from tunelab.proposers import AutoProposer, JobView, Search, create
from tunelab.proposers import _auto as auto
from tunelab.proposers._auto import Plan, SpaceKind, choose
from tunelab.space import Choice, Constant, Float, Int, Ordinal, Space


def floats(dim: int) -> Space:
    return Space([Float(f"x{i}", -5.0, 5.0) for i in range(dim)])


def sphere(config: dict) -> float:
    return float(sum((v - 1.0) ** 2 for k, v in config.items() if k.startswith("x")))


CONDITIONAL = Space([
    Choice("model", ["linear", "tree"]),
    Float("alpha", 1e-4, 1.0, log=True, when={"model": ["linear"]}),
    Int("depth", 1, 12, when={"model": ["tree"]}),
    Float("lr", 1e-3, 1.0, log=True),
])


def conditional_loss(config: dict) -> float:
    base = (math.log10(config["lr"]) + 1.5) ** 2
    if config["model"] == "linear":
        return base + 0.5 + (math.log10(config["alpha"]) + 2) ** 2
    return base + (config["depth"] - 7) ** 2 / 20


def drive(space: Space, loss, n_jobs: int, *, seed: int = 0, fail_every: int = 0, **options) -> list[JobView]:
    search = Search(space, create("auto", space, seed=seed, options_=options))
    return serial_run(search, n_jobs, loss, fail_every=fail_every)


def test_registered_and_exported() -> None:
    assert "auto" in proposers.names()
    assert "AutoProposer" in proposers.__all__
    assert proposers.options("auto") == ["n_samples", "n_parallel", "n_objectives"]


def test_space_kind() -> None:
    kind = SpaceKind.of(Space([Float("a", 0, 1), Int("b", 1, 3), Ordinal("c", [1, 2]), Choice("d", ["x", "y"]),
                               Constant("e", 3), Choice("f", ["only"])]))
    assert kind == SpaceKind(numeric=3, categorical=1, conditional=False, cardinality=math.inf)
    assert kind.dim == 4


@pytest.mark.parametrize(("kind", "n_samples", "n_parallel", "stages"), [
    (SpaceKind(2, 0, False, math.inf), 50, 1, ((0, "gp"),)),
    (SpaceKind(7, 0, False, math.inf), 200, 4, ((0, "gp"),)),
    (SpaceKind(5, 1, False, math.inf), 100, 1, ((0, "gp"),)),  # a few choices: still numeric
    (SpaceKind(3, 0, False, 1000), 100, 1, ((0, "gp"),)),  # integer-only
    (SpaceKind(4, 2, False, math.inf), 100, 1, ((0, "gp"),)),  # a third are choices: one-hot in the GP
    (SpaceKind(4, 2, False, math.inf), 1000, 1, ((0, "gp"), (200, "tpe"))),  # never CMA-ES on choices
    (SpaceKind(4, 2, False, math.inf), None, 1, ((0, "tpe"),)),  # open-ended, or ASHA's sampler
    (SpaceKind(4, 2, False, math.inf), 100, 32, ((0, "tpe"),)),  # too many slots for a GP
    (SpaceKind(4, 2, False, math.inf), 1, 1, ((0, "gp"),)),
    (SpaceKind(0, 3, False, 60), 30, 1, ((0, "tpe"),)),  # nothing ordered to refine
    (SpaceKind(3, 1, True, math.inf), 100, 1, ((0, "tpe"),)),  # conditional
    (SpaceKind(6, 6, False, math.inf), 100, 1, ((0, "tpe"),)),  # many parameters, many choices
    (SpaceKind(10, 2, False, math.inf), 100, 1, ((0, "gp"),)),  # a sixth are choices: numeric, 12 dimensions
    (SpaceKind(6, 0, False, math.inf), None, 1, ((0, "gp"), (200, "tpe"))),
    (SpaceKind(6, 0, False, math.inf), 300, 1, ((0, "gp"), (200, "tpe"))),
    (SpaceKind(6, 0, False, math.inf), 1000, 1, ((0, "gp"), (200, "cmaes"))),
    (SpaceKind(8, 0, False, math.inf), 50, 1, ((0, "gp"),)),
    (SpaceKind(10, 0, False, math.inf), 100, 1, ((0, "gp"),)),
    (SpaceKind(20, 0, False, math.inf), 100, 1, ((0, "gp"),)),
    (SpaceKind(40, 0, False, math.inf), 1000, 1, ((0, "gp"), (200, "cmaes"))),
    (SpaceKind(41, 0, False, math.inf), 100, 1, ((0, "cmaes"),)),  # more than GP_MAX_DIM
    (SpaceKind(6, 0, False, math.inf), 500, 32, ((0, "cmaes"),)),
    (SpaceKind(0, 0, False, 1), None, 1, ((0, "random"),)),
])
def test_rules(kind: SpaceKind, n_samples: int | None, n_parallel: int, stages: tuple) -> None:
    assert choose(kind, n_samples, n_parallel) == Plan(stages)


def test_every_plan_names_a_registered_proposer() -> None:
    registered = set(proposers.names())
    for numeric in (0, 1, 5, 30):
        for categorical in (0, 1, 4):
            for conditional in (False, True):
                for n_samples in (None, 20, 150, 400, 5000):
                    for n_parallel in (1, 64):
                        plan = choose(SpaceKind(numeric, categorical, conditional, math.inf), n_samples, n_parallel)
                        assert set(plan.names) <= registered


def test_bad_options_are_user_errors() -> None:
    with pytest.raises(UserError, match="n_samples"):
        create("auto", floats(2), seed=0, options_={"n_samples": 0})
    with pytest.raises(UserError, match="n_parallel"):
        create("auto", floats(2), seed=0, options_={"n_parallel": "4"})


def test_proposals_name_the_proposer_that_made_them() -> None:
    jobs = drive(CONDITIONAL, conditional_loss, 14, n_samples=50)
    assert {job.info["via"] for job in jobs} == {"tpe"}
    jobs = drive(floats(2), sphere, 12, n_samples=50)
    assert {job.info["via"] for job in jobs} == {"gp"}
    jobs = drive(floats(41), sphere, 12, n_samples=50)  # more than GP_MAX_DIM
    assert {job.info["via"] for job in jobs} == {"cmaes"}


def test_mixed_space_goes_to_gp_and_finds_the_best_choice() -> None:
    space = Space([Float("x", 0, 1), Float("y", 0, 1), Choice("c", ["a", "b", "c"])])

    def loss(config: dict) -> float:
        return (config["x"] - 0.3) ** 2 + (config["y"] - 0.7) ** 2 + {"a": 0.5, "b": 0.0, "c": 0.2}[config["c"]]

    jobs = drive(space, loss, 30, n_samples=30)
    assert {job.info["via"] for job in jobs} == {"gp"}
    best = min(jobs, key=lambda job: job.loss)
    assert best.config["c"] == "b" and best.loss < 0.01


def test_cmaes_stage_starts_with_a_sixth_of_the_box() -> None:
    proposer = AutoProposer(floats(41), seed=0)
    assert proposer.stages["cmaes"].core.sigma0 == pytest.approx(1 / 6)


def test_switches_stage_and_the_next_stage_sees_the_history(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auto, "GP_MAX_JOBS", 8)
    jobs = drive(floats(3), sphere, 16, n_samples=20)  # 12 jobs left: too few for CMA-ES, so TPE
    assert [job.info["via"] for job in jobs] == ["gp"] * 8 + ["tpe"] * 8
    proposer = AutoProposer(floats(3), seed=0, n_samples=20)
    search = Search(floats(3), proposer)
    search.restore(jobs)
    assert proposer.stages["tpe"].core.n_finished == 16


@pytest.mark.parametrize("n_samples", [6, 40])
def test_resume_repeats_the_serial_run(monkeypatch: pytest.MonkeyPatch, n_samples: int) -> None:
    monkeypatch.setattr(auto, "GP_MAX_JOBS", 6)
    space = floats(2)
    serial = drive(space, sphere, 12, seed=3, fail_every=5, n_samples=n_samples)
    for k in (2, 6, 7, 11):
        search = Search(space, create("auto", space, seed=3, options_={"n_samples": n_samples}))
        search.restore(JobView(j.number, j.config, j.status, j.loss, info=dict(j.info)) for j in serial[:k])
        (proposal,) = search.ask(1, running=[])
        assert proposal.config == serial[k].config, f"job {k} differs after resume"
        assert proposal.info["via"] == serial[k].info["via"]


def test_same_seed_same_sequence_other_seed_differs() -> None:
    def sequence(seed: int) -> list[dict]:
        return [job.config for job in drive(CONDITIONAL, conditional_loss, 14, seed=seed)]

    assert sequence(1) == sequence(1)
    assert sequence(1) != sequence(2)


def sequences(seed: int) -> str:
    """Serial sequences of a GP plan and a TPE plan, as one JSON string."""
    gp = [job.config for job in drive(floats(2), sphere, 12, seed=seed, n_samples=30)]
    tpe = [job.config for job in drive(CONDITIONAL, conditional_loss, 14, seed=seed)]
    return json.dumps([gp, tpe], sort_keys=True)


def test_same_seed_same_sequence_in_a_fresh_process() -> None:
    code = "import sys; sys.path.insert(0, sys.argv[1]); import test_auto as t; print(t.sequences(5))"
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)],
                         capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout) == json.loads(sequences(5))


def test_parallel_proposals_are_distinct() -> None:
    space = floats(3)
    search = Search(space, AutoProposer(space, seed=0, n_samples=50, n_parallel=4))
    for number in range(6):
        (proposal,) = search.ask(1, running=[])
        job = JobView(number, proposal.config, "running", info=proposal.info)
        search.started(job)
        job.status, job.loss = "finished", sphere(job.config)
        search.ended(job)
    batch = search.ask(4, running=[])
    assert len({space.key(p.config) for p in batch}) == 4


def test_finite_categorical_space_is_enumerated_without_stalling() -> None:
    space = Space([Choice("a", ["p", "q", "r"]), Choice("b", ["u", "v"]), Ordinal("c", [1, 2])])
    jobs = drive(space, lambda c: {"p": 0, "q": 1, "r": 2}[c["a"]] + c["c"], 12, n_samples=12)
    assert len({space.key(job.config) for job in jobs}) == 12


def test_integer_only_space_finds_the_optimum() -> None:
    space = Space([Int(f"n{i}", 0, 20) for i in range(3)])
    jobs = drive(space, lambda c: sum((v - 13) ** 2 for v in c.values()), 40, n_samples=40)
    assert len({space.key(job.config) for job in jobs}) == 40
    assert min(job.loss for job in jobs) <= 3


def test_failures_are_tolerated() -> None:
    jobs = drive(floats(2), sphere, 16, fail_every=2, n_samples=16)
    assert sum(job.status == "failed" for job in jobs) == 8
