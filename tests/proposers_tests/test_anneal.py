"""The annealing core, fed by hand."""

from __future__ import annotations

import numpy as np

from tunelab.proposers import JobView, create
from tunelab.proposers._anneal import AnnealCore
from tunelab.space import Choice, Float, Space


def test_ranking_and_shrinking_widths() -> None:
    core = AnnealCore(np.array([False, True]))
    for number, loss in enumerate([3.0, 1.0, 1.0, 2.0]):
        core.add(number, np.array([number / 4, np.nan if number == 3 else 0.25]), loss)
    assert core.ranked() == [1, 2, 3, 0]
    assert np.allclose(core.widths(), [0.5 / 1.4, 0.5 / 1.3])
    assert "n_finished=4" in repr(core)


def test_greedy_core_samples_next_to_the_best() -> None:
    core = AnnealCore(np.array([False, True]), avg_best_rank=1.0, shrink=100.0)
    core.add(0, np.array([0.9, 0.75]), 5.0)
    core.add(1, np.array([0.3, 0.25]), 1.0)
    for seed in range(10):
        point = core.suggest(np.random.default_rng(seed))
        assert abs(point[0] - 0.3) < 0.05
        assert point[1] == 0.25  # the choice is kept: resampling probability ~ 0.0025


def test_inactive_parent_dimensions_are_drawn_fresh() -> None:
    core = AnnealCore(np.array([False, False]), avg_best_rank=1.0)
    core.add(0, np.array([0.5, np.nan]), 0.0)
    point = core.suggest(np.random.default_rng(0))
    assert not np.isnan(point).any()


def test_proposer_converges_on_a_quadratic() -> None:
    space = Space([Float("x", -1.0, 1.0), Choice("c", ["a", "b"])])
    proposer = create("anneal", space, seed=0)
    best = np.inf
    for number in range(40):
        (proposal,) = proposer.propose(1, running=[])
        proposer.n_proposed += 1
        loss = proposal.config["x"] ** 2 + (proposal.config["c"] == "b")
        best = min(best, loss)
        proposer.observe(JobView(number, proposal.config, "finished", loss=loss))
    assert best < 0.01
