"""The ``smac`` proposer: forest surrogate and proposer behaviour."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

from tests.proposers_tests._serial import serial_run
from tunelab.exceptions import UserError
from tunelab.proposers import JobView, Search, SMACProposer, create
from tunelab.proposers._forest.surrogate import ForestSurrogate
from tunelab.space import Choice, Float, Int, Space

SPACE = Space([
    Float("lr", 1e-5, 1e-1, log=True),
    Int("layers", 1, 6),
    Choice("opt", ["adam", "sgd", "rmsprop"]),
    Float("momentum", 0.0, 0.99, when={"opt": ["sgd"]}),
    Int("units", 8, 512, log=True, when={"opt": ["sgd", "rmsprop"]}),
])


def loss_of(config: dict) -> float:
    loss = (math.log10(config["lr"]) + 3) ** 2 + 0.1 * (config["layers"] - 3) ** 2
    loss += {"adam": 0.5, "sgd": 0.0, "rmsprop": 0.8}[config["opt"]]
    if config["opt"] == "sgd":
        loss += (config["momentum"] - 0.9) ** 2
    return loss


def run(budget: int, seed: int, space: Space = SPACE, loss=loss_of, **options) -> list[JobView]:
    search = Search(space, create("smac", space, seed=seed, options_=options))
    return serial_run(search, budget, loss)


def test_surrogate_mean_follows_data_and_spread_is_larger_away_from_it():
    rng = np.random.default_rng(0)
    x = rng.random((60, 2)) * np.array([0.5, 1.0])
    y = (x[:, 0] - 0.25) ** 2 + x[:, 1]
    model = ForestSurrogate(n_trees=10, seed=0).fit(x, y)
    mean, var = model.predict(x)
    assert np.corrcoef(mean, y)[0, 1] > 0.9
    assert np.all(var > 0)


def test_options_are_checked():
    assert SMACProposer.name == "smac"
    for bad in ({"random_fraction": 1.5}, {"n_trees": 0}, {"n_initial": -1}, {"log_y": "yes"}, {"trees": 3}):
        with pytest.raises(UserError):
            create("smac", SPACE, seed=0, options_=bad)


def test_same_seed_and_history_give_the_same_proposals():
    first = [j.config for j in run(14, seed=2, n_initial=5)]
    second = [j.config for j in run(14, seed=2, n_initial=5)]
    assert first == second


def test_resume_from_history_gives_the_same_next_proposals():
    jobs = run(14, seed=3, n_initial=5)
    for k in (7, 11):
        search = Search(SPACE, create("smac", SPACE, seed=3, options_={"n_initial": 5}))
        search.restore([JobView(j.number, j.config, j.status, j.loss, info=j.info) for j in jobs[:k]])
        (proposal,) = search.ask(1, [])
        assert proposal.config == jobs[k].config


def test_parallel_proposals_are_distinct_and_configs_valid():
    jobs = run(10, seed=1, n_initial=5)
    search = Search(SPACE, create("smac", SPACE, seed=1, options_={"n_initial": 5, "random_fraction": 0.0}))
    search.restore(jobs)
    proposals = search.ask(5, [JobView(50, jobs[0].config)])
    keys = {json.dumps(p.config, sort_keys=True) for p in proposals}
    assert len(keys) == 5
    for proposal in proposals:
        assert SPACE.validate(proposal.config) == proposal.config


def test_failed_jobs_are_tolerated():
    search = Search(SPACE, create("smac", SPACE, seed=0, options_={"n_initial": 3}))
    for number in range(10):
        (proposal,) = search.ask(1, [])
        job = JobView(number, proposal.config, info=proposal.info)
        search.started(job)
        if number % 3 == 2:
            job.status = "failed"
        else:
            job.status, job.loss = "finished", loss_of(job.config)
        search.ended(job)


def test_model_proposals_are_better_than_random_ones_on_a_mixed_conditional_space():
    model_losses, random_losses = [], []
    for seed in range(2):
        for job in run(30, seed=seed, n_initial=8)[8:]:
            (random_losses if job.info.get("random") else model_losses).append(job.loss)
    prior = [loss_of(SPACE.sample(np.random.default_rng([7, i]))) for i in range(200)]
    assert np.median(model_losses) < 0.5 * np.median(prior)


def test_time_per_proposal_is_bounded_with_200_observations():
    rng = np.random.default_rng(0)
    history = []
    for number in range(200):
        config = SPACE.sample(rng)
        history.append(JobView(number, config, "finished", loss_of(config)))
    search = Search(SPACE, create("smac", SPACE, seed=0, options_={"random_fraction": 0.0}))
    search.restore(history)
    start = time.perf_counter()
    (proposal,) = search.ask(1, [])
    assert time.perf_counter() - start < 3.0
    assert SPACE.validate(proposal.config) == proposal.config
