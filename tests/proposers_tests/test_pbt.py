"""Population-based training: the exploit plan, exploring, generations, failures, resume."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.exceptions import UserError
from tunelab.proposers import JobView, PBTProposer, Search, create
from tunelab.proposers._pbt import RESTART, exploit_plan, explore, quantile_size
from tunelab.space import Choice, Constant, Float, Int, Ordinal, Space

SPACE = Space([Float("lr", 1e-4, 1e-1, log=True), Int("units", 8, 64), Ordinal("batch", [16, 32, 64]),
               Choice("opt", ["adam", "sgd"]), Float("momentum", 0.0, 0.99, when={"opt": ["sgd"]}),
               Constant("epochs", 3)])


def test_quantiles_never_overlap_and_hold_at_least_one_member() -> None:
    assert [quantile_size(p, 0.25) for p in (2, 3, 4, 8, 10)] == [1, 1, 1, 2, 3]
    assert quantile_size(10, 0.2) == 2 and quantile_size(4, 0.5) == 2 and quantile_size(5, 0.5) == 2


def test_the_bottom_quantile_and_failed_members_take_a_top_member() -> None:
    rng = np.random.default_rng(0)
    assert exploit_plan([0.3, 0.1, 0.2, 0.9], 0.25, rng) == [0, 1, 2, 1]
    plan = exploit_plan([0.5, 0.1, 0.2, 0.4, 0.9, None, 0.3, 0.6], 0.25, np.random.default_rng(3))
    assert plan[1:4] == [1, 2, 3] and plan[6] == 6
    assert {plan[4], plan[5], plan[7]} <= {1, 2} and plan[0] == 0
    assert exploit_plan([None, None, None], 0.25, rng) == [RESTART] * 3


def test_ties_rank_by_member() -> None:
    assert exploit_plan([1.0, 1.0, 1.0, 1.0], 0.25, np.random.default_rng(0)) == [0, 1, 2, 0]


def test_explore_perturbs_by_the_factors_within_bounds() -> None:
    config = {"lr": 0.05, "units": 10, "batch": 32, "opt": "adam", "epochs": 3}
    up = explore(config, SPACE, np.random.default_rng(0), [2.0], 0.0)
    momentum = up.pop("momentum")
    assert up == {"lr": 0.1, "units": 20, "batch": 64, "opt": "sgd", "epochs": 3}
    assert 0 <= momentum <= 0.99, "a parameter that becomes active is sampled"
    down = explore({**config, "units": 8, "batch": 16}, SPACE, np.random.default_rng(0), [0.9], 0.0)
    assert down["lr"] == pytest.approx(0.045) and down["units"] == 8 and down["batch"] == 16
    assert down["opt"] == "adam" and "momentum" not in down
    small = explore({**config, "units": 9}, SPACE, np.random.default_rng(0), [1.05], 0.0)
    assert small["units"] == 10, "an integer moves by at least one step"


def test_explore_resamples_and_fills_newly_active_parameters() -> None:
    config = {"lr": 0.05, "units": 10, "batch": 32, "opt": "adam", "epochs": 3}
    seen = [explore(config, SPACE, np.random.default_rng(s), [1.2, 0.8], 1.0) for s in range(20)]
    assert len({c["lr"] for c in seen}) == 20
    sgd = [c for c in seen if c["opt"] == "sgd"]
    assert sgd and all(0 <= c["momentum"] <= 0.99 for c in sgd)
    assert all(SPACE.validate(c) == c for c in seen)


def test_explore_changes_only_the_parameters_to_mutate() -> None:
    config = {"lr": 0.05, "units": 10, "batch": 32, "opt": "adam", "epochs": 3}
    for seed in range(10):
        out = explore(config, SPACE, np.random.default_rng(seed), [1.2, 0.8], 0.5, mutate=["lr"])
        assert out["lr"] != 0.05 and {k: v for k, v in out.items() if k != "lr"} == \
            {k: v for k, v in config.items() if k != "lr"}
    with pytest.raises(UserError, match=r"`mutate` must list parameters of the space .*, but got 'depth'"):
        create("pbt", SPACE, seed=0, options_={"mutate": ["lr", "depth"]})


def finish(search: Search, jobs: list[JobView], losses: dict[int, float | None]) -> None:
    for job in jobs:
        loss = losses.get(job.info["member"])
        job.status, job.loss = ("failed", None) if loss is None else ("finished", loss)
        search.ended(job)


def start(search: Search, n: int, first: int) -> list[JobView]:
    jobs = []
    for i, proposal in enumerate(search.ask(n, running=[])):
        job = JobView(first + i, proposal.config, "running", budget=proposal.budget, info=dict(proposal.info))
        search.started(job)
        jobs.append(job)
    return jobs


def test_generations_wait_for_every_member_then_exploit() -> None:
    search = Search(SPACE, create("pbt", SPACE, seed=1, options_={"population_size": 4, "max_budget": 2}))
    gen0 = start(search, 8, 0)
    assert [(j.budget, j.info["member"], j.info["parent"]) for j in gen0] == [(1.0, m, None) for m in range(4)]
    finish(search, gen0[:3], {0: 0.4, 1: 0.1, 2: 0.3})
    assert search.ask(4, running=[gen0[3]]) == [], "the next generation waits for the last member"
    finish(search, gen0[3:], {3: 0.9})
    gen1 = start(search, 8, 4)
    assert [j.budget for j in gen1] == [2.0] * 4
    assert [j.info["parent"] for j in gen1] == [0, 1, 2, 1]
    assert [j.config for j in gen1[:3]] == [j.config for j in gen0[:3]]
    assert gen1[3].info["exploited"] == 1 and gen1[3].config != gen0[1].config
    assert all(j.info["resume_from"] == 1.0 for j in gen1)
    finish(search, gen1, {0: 0.3, 1: 0.05, 2: 0.2, 3: 0.04})
    assert search.ask(4, running=[]) == [] and search.exhausted


def test_a_failed_member_is_replaced_and_a_dead_population_restarts() -> None:
    search = Search(SPACE, create("pbt", SPACE, seed=2, options_={"population_size": 4, "quantile_fraction": 0.25}))
    gen0 = start(search, 4, 0)
    finish(search, gen0, {0: 0.1, 1: None, 2: 0.3, 3: 0.2})
    gen1 = start(search, 4, 4)
    assert [j.info["parent"] for j in gen1] == [0, 0, 0, 3]
    finish(search, gen1, {})
    gen2 = start(search, 4, 8)
    assert all(j.info["parent"] is None and "resume_from" not in j.info for j in gen2)
    assert [j.budget for j in gen2] == [3.0] * 4


def test_replaying_the_history_rebuilds_the_same_next_generation() -> None:
    def run(stop_after: int | None) -> list[tuple]:
        options = {"population_size": 3, "max_budget": 4, "quantile_fraction": 0.34}
        search = Search(SPACE, create("pbt", SPACE, seed=5, options_=options))
        history: list[JobView] = []
        number = 0
        while True:
            if stop_after is not None and number >= stop_after:
                fresh = Search(SPACE, create("pbt", SPACE, seed=5, options_=options))
                fresh.restore(history)
                search, stop_after = fresh, None
            jobs = start(search, 1, number)
            if not jobs:
                return [(j.number, j.config["lr"], j.info["parent"]) for j in history]
            number += 1
            finish(search, jobs, {jobs[0].info["member"]: (jobs[0].config["lr"] - 0.01) ** 2})
            history += jobs
    assert run(None) == run(5) == run(7)
    assert len(run(None)) == 12


def test_options_are_checked() -> None:
    for bad in ({"population_size": 1}, {"perturbation_interval": 0}, {"max_budget": 0.5},
                {"quantile_fraction": 0.7}, {"resample_probability": 2}, {"perturbation_factors": []}):
        with pytest.raises(UserError, match=next(iter(bad))):
            create("pbt", SPACE, seed=0, options_=bad)


def test_debug_string_shows_lineage() -> None:
    pbt = PBTProposer(Space([Float("x", 0, 1)]), seed=0, population_size=2)
    search = Search(pbt.space, pbt)
    gen0 = start(search, 2, 0)
    finish(search, gen0, {0: 0.5, 1: 0.25})
    start(search, 2, 2)
    assert pbt.debug_string() == ("generation 0: m0=0.5<-None, m1=0.25<-None\n"
                                  "generation 1: m0=…<-1, m1=…<-1")
