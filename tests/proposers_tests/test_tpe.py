"""The Parzen estimator and the TPE core, fed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import truncnorm

from tunelab.exceptions import UserError
from tunelab.proposers import JobView, create
from tunelab.proposers._tpe.estimator import Bandwidth, ParzenEstimator, _neighbor_widths
from tunelab.proposers._tpe.proposer import TPECore, forgetting_weights
from tunelab.space import Choice, Float, Int, Space


def test_forgetting_weights_ramp_the_oldest() -> None:
    assert forgetting_weights(3, 25).tolist() == [1.0, 1.0, 1.0]
    assert forgetting_weights(4, 2).tolist() == [0.25, 1.0, 1.0, 1.0]
    assert forgetting_weights(4, 0).tolist() == [1.0, 1.0, 1.0, 1.0]


def test_neighbor_widths_with_and_without_endpoints() -> None:
    # Sorted: 0.1, 0.6, 0.7; the gaps, bounds included, are 0.1, 0.5, 0.1, 0.3.
    values = np.array([[0.6], [0.1], [0.7]])
    assert np.allclose(_neighbor_widths(values, False)[:, 0], [0.5, 0.5, 0.1])
    assert np.allclose(_neighbor_widths(values, True)[:, 0], [0.5, 0.5, 0.3])
    # A lone point has no inner neighbour: its width is the distance to the far bound.
    assert np.allclose(_neighbor_widths(np.array([[0.2]]), False), [[0.8]])
    # Columns are independent: the second one is the first mirrored.
    both = _neighbor_widths(np.hstack([values, 1.0 - values]), False)
    assert np.allclose(both, [[0.5, 0.5], [0.5, 0.5], [0.1, 0.1]])


def test_widths_are_neighbor_gaps_floored_at_half_the_magic_clip() -> None:
    # Sorted: 0.1, 0.11, 0.8; the floor is 0.5 / min(100, 3 + 1).
    points = np.array([[0.1, 0.3], [0.11, 0.3], [0.8, 0.3]])
    est = ParzenEstimator(points, np.ones(3), np.array([0, 0]), np.zeros(2), prior_weight=1.0,
                          bandwidth=Bandwidth())
    assert np.allclose(est.sigma[:-1, 0], [0.125, 0.69, 0.69])
    assert np.allclose(est.sigma[:-1, 1], [0.125, 0.125, 0.125])  # each dimension has its own widths


def test_log_pdf_matches_a_brute_force_mixture() -> None:
    rng = np.random.default_rng(0)
    points = rng.random((7, 3))
    points[:, 2] = rng.integers(0, 3, 7)
    points[1, 0], points[2, 2] = np.nan, np.nan
    weights = rng.random(7)
    est = ParzenEstimator(points, weights, np.array([0, 0, 3]), np.zeros(3), prior_weight=1.0,
                          bandwidth=Bandwidth())
    queries = rng.random((5, 3))
    queries[:, 2] = rng.integers(0, 3, 5)
    queries[0, 1], queries[3, 2] = np.nan, np.nan
    mix = np.append(weights, 1.0) / (weights.sum() + 1.0)

    def reference(x: np.ndarray) -> float:
        total = 0.0
        for i in range(8):
            p = 1.0
            for j in range(3):
                mu = est.mu[i, j]
                if np.isnan(x[j]):
                    continue
                if j < 2 and not np.isnan(mu):
                    s = est.sigma[i, j]
                    p *= truncnorm.pdf(x[j], -mu / s, (1 - mu) / s, loc=mu, scale=s)
                elif j == 2:
                    p *= 1 / 3 if np.isnan(mu) else (1 - est.beta + est.beta / 3 if x[j] == mu else est.beta / 3)
            total += mix[i] * p
        return math.log(total)

    assert np.allclose(est.log_pdf(queries), [reference(q) for q in queries])
    assert "ParzenEstimator(n=7, d=3" in repr(est)


def test_samples_stay_in_the_cube_and_keep_categories() -> None:
    est = ParzenEstimator(np.array([[0.99, 2.0], [0.01, 2.0]]), np.ones(2), np.array([0, 4]), np.zeros(2),
                          prior_weight=0.01, bandwidth=Bandwidth(categorical_beta=0.01))
    drawn = est.sample(np.random.default_rng(1), 500)
    assert drawn[:, 0].min() >= 0.0 and drawn[:, 0].max() <= 1.0
    assert np.mean(drawn[:, 1] == 2.0) > 0.95


def core_with(losses: list[float], xs: list[float], **options) -> TPECore:
    core = TPECore(Space([Float("x", 0.0, 1.0)]), **options)
    for number, (x, loss) in enumerate(zip(xs, losses, strict=True)):
        core.add(number, {"x": x}, loss)
    return core


def test_split_takes_the_best_ceil_gamma_n() -> None:
    core = core_with([5, 1, 3, 2, 4], [0.5, 0.1, 0.3, 0.2, 0.4], gamma=0.5)
    good, good_w, bad, _ = core.split()
    assert good[:, 0].tolist() == [0.1, 0.3, 0.2]  # jobs 1, 2, 3 in job order
    assert sorted(bad[:, 0].tolist()) == [0.4, 0.5]
    good, _, bad, bad_w = core_with([5, 1, 3, 2, 4], [0.5, 0.1, 0.3, 0.2, 0.4]).split([np.array([0.9])])
    assert good[:, 0].tolist() == [0.1]
    assert bad[-1, 0] == 0.9 and bad_w.tolist() == [1.0] * 5


def test_suggestion_lands_in_the_good_region() -> None:
    xs = list(np.linspace(0.0, 1.0, 41))
    core = core_with([abs(x - 0.2) for x in xs], xs)
    for seed in range(5):
        assert abs(core.suggest(np.random.default_rng(seed))["x"] - 0.2) < 0.1


@pytest.mark.parametrize("multivariate", [True, False])
def test_categorical_and_int_follow_the_good_jobs(multivariate: bool) -> None:
    space = Space([Choice("c", ["a", "b", "c"]), Int("n", 1, 5)])
    core = TPECore(space, multivariate=multivariate, gamma=0.3)
    rng = np.random.default_rng(0)
    for number in range(30):
        config = space.sample(rng)
        core.add(number, config, 3.0 * (config["c"] != "b") + abs(config["n"] - 4))
    picks = [core.suggest(np.random.default_rng(seed)) for seed in range(6)]
    assert sum(p["c"] == "b" for p in picks) >= 5
    assert all(abs(p["n"] - 4) <= 1 for p in picks)


def test_proposer_uses_startup_then_model_and_liars() -> None:
    space = Space([Float("x", 0.0, 1.0), Choice("c", ["a", "b"]), Float("y", 0.0, 1.0, when={"c": ["b"]})])
    proposer = create("tpe", space, seed=0, options_={"n_startup_jobs": 3})
    for number in range(3):
        (proposal,) = proposer.propose(1, running=[])
        assert proposal.info == {"tpe": "startup"}
        proposer.n_proposed += 1
        proposer.observe(JobView(number, proposal.config, "finished", loss=float(number)))
    proposer.on_job_failed(JobView(3, {"x": 0.5, "c": "a"}, "failed"))
    batch = proposer.propose(3, running=[])
    assert [p.info for p in batch] == [{"tpe": "model"}] * 3
    assert len({space.key(p.config) for p in batch}) == 3
    assert "TPECore(n_finished=3, n_failed=1" in repr(proposer.core)


@pytest.mark.parametrize("options", [{"gamma": 1.5}, {"n_ei_candidates": 0}, {"multivariate": "yes"},
                                     {"prior_weight": 0}, {"forget_after": -1}, {"bandwidth": 2}])
def test_bad_options_are_user_errors(options: dict) -> None:
    with pytest.raises(UserError, match=next(iter(options))):
        create("tpe", Space([Float("x", 0.0, 1.0)]), seed=0, options_=options)
