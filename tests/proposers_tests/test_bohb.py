from __future__ import annotations

import numpy as np
import pytest
from _halving_sim import SPACE, key, next_after_restore, run

from tunelab.exceptions import UserError
from tunelab.proposers import BOHBProposer, create
from tunelab.proposers._bohb import ParzenKDE
from tunelab.space import Choice, Float, Space


def test_kde_bandwidths_and_density() -> None:
    kde = ParzenKDE(np.array([[0.2, 0.0], [0.4, 1.0], [0.3, 1.0]]), [0, 3], 1e-3)
    assert kde.bandwidth[0] == pytest.approx(1.06 * np.std([0.2, 0.4, 0.3]) * 3 ** -0.2)
    assert kde.bandwidth[1] <= 2 / 3
    near, far = kde.pdf(np.array([[0.3, 1.0], [0.9, 2.0]]))
    assert near > far
    samples = kde.sample_around(np.random.default_rng(0), 200, 3.0)
    assert samples[:, 0].min() >= 0 and samples[:, 0].max() <= 1
    assert set(np.unique(samples[:, 1])) <= {0.0, 1.0, 2.0}


def test_min_points_default_and_model_budget() -> None:
    bohb = BOHBProposer(SPACE, seed=0, min_budget=1, max_budget=9, min_points_in_model="")
    assert bohb.min_points == 3 and bohb.budgets == [1, 3, 9]
    assert bohb.model() is None
    run_ = run("bohb", {"max_budget": 9}, jobs=9)
    assert len(run_) == 9
    proposer = create("bohb", SPACE, seed=0, options_={"max_budget": 9, "min_points_in_model": None})
    for job in run_:
        proposer.on_job_started(job)
        proposer.observe(job)
    good, bad = proposer.model()
    assert len(good.points) == 3 and len(bad.points) == 6  # 9 results at budget 1: max(3, 15%) good


def test_model_steers_toward_good_region() -> None:
    history = run("bohb", {"max_budget": 9, "random_fraction": 0.0}, jobs=120)
    late = [j for j in history[60:] if j.budget == 1]
    early = [j for j in history[:30] if j.budget == 1]
    assert np.median([j.loss for j in late]) < np.median([j.loss for j in early])


def test_resume_gives_the_same_next_proposal() -> None:
    options = {"max_budget": 27}
    history = run("bohb", options, jobs=60)
    for k in (0, 13, 27, 40, 59):
        assert next_after_restore("bohb", options, history, k) == [key(history[k])], k


def test_categorical_space_and_errors() -> None:
    space = Space([Choice("opt", ["a", "b", "c"]), Float("lr", 1e-4, 1.0, log=True)])
    history = run("bohb", {"max_budget": 9}, jobs=40, space=space,
                  loss=lambda c, b: {"a": 1.0, "b": 0.0, "c": 2.0}[c["opt"]] + c["lr"] + 1 / b)
    assert {j.config["opt"] for j in history} <= {"a", "b", "c"}
    with pytest.raises(UserError, match="`top_n_percent` is out of range"):
        create("bohb", SPACE, seed=0, options_={"top_n_percent": 150})
