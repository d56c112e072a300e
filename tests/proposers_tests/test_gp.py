"""The ``gp`` proposer: kernel, GP posterior, log EI, acquisition search and proposer behaviour."""

from __future__ import annotations

import contextlib
import io
import json
import math
import subprocess
import sys
import time

import numpy as np
import pytest
from scipy import optimize, special

from tests.proposers_tests._serial import serial_run
from tunelab.exceptions import UserError
from tunelab.proposers import GPProposer, JobView, RandomProposer, Search, create
from tunelab.proposers._gp.acquisition import AcquisitionOptimizer, log_ei, log_ei_grad, log_h
from tunelab.proposers._gp.encoding import UnitEncoder
from tunelab.proposers._gp.kernel import gram, group_sq_dist
from tunelab.proposers._gp.model import GaussianProcess, default_theta, fit_theta, neg_log_posterior
from tunelab.proposers._gp.trust import INITIAL_SIDE, LARGEST_SIDE, TrustRegion
from tunelab.space import Choice, Float, Int, Space


def branin(config: dict) -> float:
    x1, x2 = config["x1"], config["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


BRANIN_SPACE = Space([Float("x1", -5.0, 10.0), Float("x2", 0.0, 15.0)])
BRANIN_MIN = 5 / (4 * math.pi)

MIXED_SPACE = Space([
    Float("lr", 1e-5, 1e-1, log=True),
    Int("layers", 1, 6),
    Float("dropout", 0.0, 0.5, step=0.1),
    Choice("opt", ["adam", "sgd", "rmsprop"]),
    Float("momentum", 0.0, 0.99, when={"opt": ["sgd"]}),
    Int("units", 8, 512, log=True, when={"opt": ["sgd", "rmsprop"]}),
])


def mixed_loss(config: dict) -> float:
    loss = (math.log10(config["lr"]) + 3) ** 2 + 0.1 * (config["layers"] - 3) ** 2 + config["dropout"]
    loss += {"adam": 0.5, "sgd": 0.0, "rmsprop": 0.8}[config["opt"]]
    if config["opt"] == "sgd":
        loss += (config["momentum"] - 0.9) ** 2
    if "units" in config:
        loss += 0.01 * abs(math.log2(config["units"]) - 6)
    return loss


def run(space: Space, name: str, loss, budget: int, seed: int, **options) -> list[JobView]:
    """A serial search; returns the jobs with their losses."""
    search = Search(space, create(name, space, seed=seed, options_=options))
    return serial_run(search, budget, loss)


# ---------------------------------------------------------------- kernel


def test_kernel_is_positive_semidefinite_and_symmetric():
    rng = np.random.default_rng(0)
    x = rng.random((40, 3))
    k = gram(x, x, np.array([0.3, 1.0, 2.0]), 1.5, np.arange(3))
    assert np.allclose(k, k.T)
    assert np.allclose(np.diag(k), 1.5)
    assert np.linalg.eigvalsh(k).min() > -1e-9


def test_shared_lengthscale_of_one_hot_columns_is_one_group():
    encoder = UnitEncoder(Space([Float("x", 0, 1), Choice("c", ["a", "b", "c"]), Choice("k", ["only"])]))
    assert encoder.groups.tolist() == [0, 1, 1, 1]
    assert encoder.n_groups == 2


def test_marginal_likelihood_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    x = rng.random((25, 3))
    y = np.sin(3 * x).sum(1)
    y = (y - y.mean()) / y.std()
    d2 = group_sq_dist(x, np.arange(3), 3)
    theta = np.array([-0.5, 0.0, 0.3, 0.2, math.log(1e-2)])
    analytic = neg_log_posterior(theta, d2, y)[1]
    numeric = optimize.approx_fprime(theta, lambda t: neg_log_posterior(t, d2, y)[0], 1e-6)
    assert np.allclose(analytic, numeric, rtol=1e-4, atol=1e-4)


def test_length_scales_stay_moderate_when_the_data_look_like_noise():
    # Flat likelihoods in many dimensions used to give a tiny length scale to one
    # parameter and huge ones to the rest, which sends expected improvement to the corners.
    rng = np.random.default_rng(4)
    x = rng.random((30, 10))
    y = rng.standard_normal(30)
    theta, _ = fit_theta(x, (y - y.mean()) / y.std(), np.arange(10), 10, [default_theta(10)])
    assert np.all((np.exp(theta[:10]) > 0.1) & (np.exp(theta[:10]) < 10.0))


# ---------------------------------------------------------------- GP posterior


def _fitted_gp(n: int = 12) -> GaussianProcess:
    x = np.linspace(0.05, 0.6, n)[:, None]
    y = np.sin(8 * x[:, 0])
    theta, _ = fit_theta(x, y, np.array([0]), 1, [default_theta(1)])
    return GaussianProcess(x, y, theta, np.array([0]))


def test_posterior_interpolates_noise_free_data_with_small_variance():
    gp = _fitted_gp()
    post = gp.predict(gp.x)
    assert np.allclose(post.mean, gp.y, atol=1e-3)
    assert post.std.max() < 0.02


def test_posterior_variance_grows_far_from_data():
    gp = _fitted_gp()
    near, far = gp.predict(np.array([[0.3], [1.0]])).std
    assert far > 10 * near
    assert far == pytest.approx(math.sqrt(gp.amplitude), rel=0.5)


def test_posterior_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    x = rng.random((15, 2))
    gp = GaussianProcess(x, np.cos(4 * x).sum(1), np.array([-1.0, -0.5, 0.0, math.log(1e-4)]), np.arange(2))
    point = np.array([[0.37, 0.61]])
    post = gp.predict(point, gradient=True)
    for fn, grad in ((lambda p: gp.predict(p[None, :]).mean[0], post.dmean[0]),
                     (lambda p: gp.predict(p[None, :]).std[0], post.dstd[0])):
        assert np.allclose(grad, optimize.approx_fprime(point[0], fn, 1e-7), rtol=1e-3, atol=1e-5)


def test_posterior_draws_have_the_posterior_mean_spread_and_correlation():
    gp = _fitted_gp()
    points = np.array([[0.3], [0.301], [0.9], [1.0]])
    post = gp.predict(points)
    rng = np.random.default_rng(0)
    draws = np.array([gp.sample(points, rng) for _ in range(2000)])
    assert np.allclose(draws.mean(0), post.mean, atol=0.1 * np.sqrt(gp.amplitude))
    assert np.allclose(draws[:, 2:].std(0), post.std[2:], rtol=0.1)
    # a joint draw: two near points move together, two far apart ones nearly independently
    assert np.corrcoef(draws[:, 2], draws[:, 3])[0, 1] > 0.5
    assert np.max(np.abs(draws[:, 0] - draws[:, 1])) < 0.05


def test_thompson_draws_pick_unseen_candidates_in_the_box_mostly_where_the_model_is_low():
    encoder = UnitEncoder(Space([Float("a", 0, 1)]))
    gp = _fitted_gp()  # sin(8x) on [0.05, 0.6]: lowest near 0.59
    box = (np.array([0.0]), np.array([0.8]))
    seen = encoder.snap(gp.x)
    picks = [AcquisitionOptimizer(encoder, n_lines=0).sample_best(gp, seen[-1:], seen, np.random.default_rng(s), box)[0]
             for s in range(40)]
    assert all(0.0 <= p <= 0.8 for p in picks)
    assert not any(np.any(np.abs(seen[:, 0] - p) < 1e-9) for p in picks)
    assert len({round(p, 6) for p in picks}) > 5
    assert np.median(picks) == pytest.approx(0.59, abs=0.08)


# ---------------------------------------------------------------- log EI


def test_log_ei_matches_naive_ei_where_that_is_stable():
    mean = np.array([0.0, 0.5, -1.0, 2.0, 0.1])
    std = np.array([1.0, 0.3, 2.0, 0.5, 1e-2])
    z = (0.2 - mean) / std
    naive = std * (special.ndtr(z) * z + np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi))
    assert np.allclose(log_ei(mean, std, 0.2), np.log(naive), rtol=1e-9)


def test_log_h_is_finite_and_accurate_deep_in_the_tail():
    z = np.array([-5.0, -40.0, -1e3, -1e10, -1e150])
    values = log_h(z)
    assert np.all(np.isfinite(values))
    assert np.all(np.diff(values) < 0)
    # Asymptotic series: h(z) = phi(z) / z^2 (1 - 3 / z^2 + O(z^-4)) for z -> -inf.
    zt = z[1:]
    asymptote = -0.5 * zt**2 - 0.5 * math.log(2 * math.pi) - 2 * np.log(-zt) + np.log1p(-3 / zt**2)
    assert np.allclose(values[1:], asymptote, rtol=1e-7)
    assert log_h(np.array([-1.0 - 1e-9]))[0] == pytest.approx(log_h(np.array([-1.0 + 1e-9]))[0], abs=1e-6)


def test_log_ei_gradient_stays_finite_in_the_tail():
    value, d_mean, d_std = log_ei_grad(np.array([50.0]), np.array([0.1]), 0.0)
    assert np.isfinite(value[0]) and np.isfinite(d_mean[0]) and np.isfinite(d_std[0])
    assert d_mean[0] < 0


# ---------------------------------------------------------------- acquisition search


def test_acquisition_optimizer_finds_the_maximum_of_a_known_function():
    space = Space([Float("a", 0, 1), Float("b", 0, 1), Int("k", 0, 10), Choice("c", ["x", "y", "z"])])
    encoder = UnitEncoder(space)
    target = encoder.snap(encoder.encode([{"a": 0.731, "b": 0.2, "k": 7, "c": "y"}]))[0]

    def fn(z: np.ndarray, gradient: bool = False):
        diff = z - target
        value = -np.sum(diff**2, axis=1)
        return value, -2 * diff if gradient else None

    best = AcquisitionOptimizer(encoder).maximize(fn, np.empty((0, 4)), np.empty((0, 4)), np.random.default_rng(0))
    config = encoder.decode(best)
    assert config["k"] == 7 and config["c"] == "y"
    assert config["a"] == pytest.approx(0.731, abs=1e-4)
    assert config["b"] == pytest.approx(0.2, abs=1e-4)


def test_acquisition_optimizer_stays_in_its_box_with_scaled_gradient_steps():
    encoder = UnitEncoder(Space([Float("a", 0, 1), Float("b", 0, 1)]))
    target = np.array([0.9, 0.5])

    def fn(z: np.ndarray, gradient: bool = False):
        diff = z - target
        return -np.sum(diff**2, axis=1), -2 * diff if gradient else None

    box = (np.array([0.2, 0.2]), np.array([0.6, 0.6]))
    best = AcquisitionOptimizer(encoder, n_lines=0).maximize(fn, np.array([[0.4, 0.4]]), np.empty((0, 2)),
                                                             np.random.default_rng(0), np.array([0.05, 2.0]), box)
    assert best == pytest.approx([0.6, 0.5], abs=1e-4)


def test_lines_leave_the_box_one_coordinate_at_a_time():
    encoder = UnitEncoder(Space([Float("a", 0, 1), Float("b", 0, 1), Float("c", 0, 1)]))
    centre = np.array([0.4, 0.4, 0.4])

    def fn(z: np.ndarray, gradient: bool = False):
        diff = z - np.array([0.95, 0.4, 0.4])
        return -np.sum(diff**2, axis=1), -2 * diff if gradient else None

    box = (centre - 0.1, centre + 0.1)
    optimizer = AcquisitionOptimizer(encoder, n_lines=256)
    best = optimizer.maximize(fn, centre[None, :], np.empty((0, 3)), np.random.default_rng(0), None, box)
    assert best[0] == pytest.approx(0.95, abs=0.02)
    assert best[1:] == pytest.approx([0.4, 0.4], abs=1e-12)
    candidates = optimizer.candidates(centre[None, :], np.random.default_rng(1), *box)
    outside = candidates[np.any((candidates < box[0]) | (candidates > box[1]), axis=1)]
    assert len(outside) > 100
    assert np.all(np.sum(np.abs(outside - centre) > 1e-12, axis=1) == 1)


def test_other_choices_search_their_numbers_outside_the_box():
    encoder = UnitEncoder(Space([Float("a", 0, 1), Choice("c", ["x", "y"])]))
    centre = np.array([0.2, 0.25])  # a = 0.2, c = "x"

    def fn(z: np.ndarray, gradient: bool = False):
        value = -(z[:, 0] - 0.9) ** 2 - (z[:, 1] < 0.5)  # best at a = 0.9 with c = "y"
        grad = np.zeros_like(z)
        grad[:, 0] = -2 * (z[:, 0] - 0.9)
        return value, grad if gradient else None

    box = (np.array([0.1, 0.0]), np.array([0.3, 1.0]))
    optimizer = AcquisitionOptimizer(encoder, n_lines=0)
    best = optimizer.maximize(fn, centre[None, :], np.empty((0, 2)), np.random.default_rng(0), None, box)
    assert best == pytest.approx([0.9, 0.75], abs=1e-4)
    candidates = optimizer.candidates(centre[None, :], np.random.default_rng(1), *box)
    outside = candidates[(candidates[:, 0] < 0.1) | (candidates[:, 0] > 0.3)]
    assert len(outside) > 100
    assert np.all(outside[:, 1] == 0.75)


def test_snap_gives_valid_values_and_canonical_inactive_coordinates():
    encoder = UnitEncoder(MIXED_SPACE)
    z = encoder.snap(np.random.default_rng(3).random((200, len(MIXED_SPACE))))
    for row in z:
        config = encoder.decode(row)
        assert np.allclose(encoder.snap(encoder.encode([config]))[0], row)


# ---------------------------------------------------------------- trust region


def test_trust_region_grows_after_successes_and_shrinks_after_failures():
    region = TrustRegion(dim=2)
    region.replay([10.0, 9.0, 8.0], warm_up=1)
    assert (region.side, region.successes) == (INITIAL_SIDE, 2)
    region.observe(7.0)
    assert region.side == LARGEST_SIDE
    region.replay([6.0, 5.0, 4.0])
    assert region.side == LARGEST_SIDE  # capped
    region.replay([4.0, 3.999, None, 9.0])  # no improvement, below 1e-3 relative, failed, worse
    assert (region.side, region.failures) == (LARGEST_SIDE / 2, 0)


def test_trust_region_restarts_when_tiny_and_waits_dim_failures():
    region = TrustRegion(dim=6)
    region.replay([1.0] * 36, warm_up=1)  # 35 failures: five halvings, one short of the sixth
    assert (region.side, region.failures) == (pytest.approx(INITIAL_SIDE / 2**5), 5)
    region.observe(1.0)
    assert region.side == pytest.approx(INITIAL_SIDE / 2**6)
    region.replay([1.0] * 6)  # the seventh halving falls below 0.5 ** 7: start again
    assert region.side == INITIAL_SIDE


def test_trust_region_box_is_clipped_and_leaves_unbounded_columns_free():
    region = TrustRegion(dim=3)
    low, high = region.box(np.array([0.1, 0.5, 0.5]), np.array([True, True, False]))
    assert low.tolist() == pytest.approx([0.0, 0.1, 0.0])
    assert high.tolist() == pytest.approx([0.5, 0.9, 1.0])


# ---------------------------------------------------------------- proposer


def test_options_are_checked():
    assert GPProposer.name == "gp"
    for bad in ({"n_initial": 0}, {"batch_strategy": "greedy"}, {"max_points": 5}, {"xi": 1}):
        with pytest.raises(UserError):
            create("gp", BRANIN_SPACE, seed=0, options_=bad)


_FRESH_RUN = """
import json, math
from tunelab.proposers import JobView, Search, create
from tunelab.space import Float, Space
space = Space([Float("x1", -5.0, 10.0), Float("x2", 0.0, 15.0)])
search = Search(space, create("gp", space, seed=5, options_={"n_initial": 4}))
configs = []
for number in range(9):
    (proposal,) = search.ask(1, [])
    job = JobView(number, proposal.config, info=proposal.info)
    search.started(job)
    job.status, job.loss = "finished", (job.config["x2"] - 0.13 * job.config["x1"] ** 2) ** 2 + math.cos(job.config["x1"])
    search.ended(job)
    configs.append(job.config)
print(json.dumps(configs))
"""


def test_seeded_proposals_repeat_in_a_fresh_process():
    fresh = subprocess.run([sys.executable, "-c", _FRESH_RUN], capture_output=True, text=True, check=True).stdout
    here = io.StringIO()
    with contextlib.redirect_stdout(here):
        exec(_FRESH_RUN, {})
    assert fresh == here.getvalue()
    assert len({json.dumps(c) for c in json.loads(fresh)}) == 9


def test_resume_from_history_gives_the_same_next_proposals():
    jobs = run(MIXED_SPACE, "gp", mixed_loss, 14, seed=3, n_initial=5)
    for k in (6, 8, 10):  # job 8 is a Thompson draw
        search = Search(MIXED_SPACE, create("gp", MIXED_SPACE, seed=3, options_={"n_initial": 5}))
        history = [JobView(j.number, j.config, j.status, j.loss, info=j.info) for j in jobs[:k]]
        search.restore(history)
        (proposal,) = search.ask(1, [])
        assert proposal.config == jobs[k].config


def test_parallel_proposals_are_distinct_and_avoid_running_jobs():
    for strategy in ("believer", "liar"):
        jobs = run(BRANIN_SPACE, "gp", branin, 8, seed=1, n_initial=5, batch_strategy=strategy)
        search = Search(BRANIN_SPACE, create("gp", BRANIN_SPACE, seed=1,
                                             options_={"n_initial": 5, "batch_strategy": strategy}))
        search.restore(jobs)
        running = [JobView(100, {"x1": 3.0, "x2": 2.5})]
        proposals = search.ask(4, running)
        keys = {json.dumps(p.config, sort_keys=True) for p in proposals}
        assert len(keys) == 4
        assert json.dumps(running[0].config, sort_keys=True) not in keys


def test_mixed_conditional_space_gives_valid_configs_and_survives_failures():
    space = MIXED_SPACE
    search = Search(space, create("gp", space, seed=0, options_={"n_initial": 4}))
    for number in range(12):
        (proposal,) = search.ask(1, [])
        assert space.validate(proposal.config) == proposal.config
        job = JobView(number, proposal.config, info=proposal.info)
        search.started(job)
        if number % 4 == 3:
            job.status = "failed"
        else:
            job.status, job.loss = "finished", mixed_loss(job.config)
        search.ended(job)


@pytest.mark.filterwarnings("error")
def test_huge_losses_keep_the_model_finite_and_the_search_on_course():
    """A diverged run may report 1e300: the model must neither overflow nor lose its way."""
    scaled = lambda c: 1e300 * (branin(c) - BRANIN_MIN)  # noqa: E731
    jobs = run(BRANIN_SPACE, "gp", scaled, 30, seed=0)
    assert min(j.loss for j in jobs) / 1e300 < 1e-2


def test_small_discrete_space_is_not_repeated():
    space = Space([Int("a", 0, 2), Choice("b", ["x", "y"])])
    jobs = run(space, "gp", lambda c: c["a"] + (c["b"] == "x"), 6, seed=0, n_initial=2)
    assert len({json.dumps(j.config, sort_keys=True) for j in jobs}) == 6


def test_gp_beats_random_search_on_branin():
    gp = [min(j.loss for j in run(BRANIN_SPACE, "gp", branin, 30, seed=s)) - BRANIN_MIN for s in range(3)]
    rand = [min(j.loss for j in run(BRANIN_SPACE, "random", branin, 30, seed=s)) - BRANIN_MIN for s in range(3)]
    assert RandomProposer.name == "random"
    assert np.median(gp) < 1e-2
    assert np.median(gp) < 0.1 * np.median(rand)


def test_time_per_proposal_is_bounded_with_200_observations():
    space = Space([Float(f"x{i}", -5.0, 5.0) for i in range(6)] + [Choice("c", ["a", "b"])])
    rng = np.random.default_rng(0)
    history = []
    for number in range(200):
        config = space.sample(rng)
        loss = sum(config[f"x{i}"] ** 2 for i in range(6)) + (config["c"] == "a")
        history.append(JobView(number, config, "finished", loss))
    search = Search(space, create("gp", space, seed=0))
    search.restore(history)
    start = time.perf_counter()
    (proposal,) = search.ask(1, [])
    assert time.perf_counter() - start < 3.0
    assert space.validate(proposal.config) == proposal.config
