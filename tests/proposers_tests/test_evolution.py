"""The aging-evolution core, fed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.exceptions import UserError
from tunelab.proposers import JobView, create
from tunelab.proposers._evolution import EvolutionCore
from tunelab.space import Choice, Float, Space


def test_population_is_the_newest_jobs_whatever_the_order_told() -> None:
    core = EvolutionCore(np.array([False]), np.array([np.inf]), population_size=2, sample_size=2)
    for number, loss in [(2, 3.0), (0, 0.0), (1, 5.0)]:
        core.add(number, np.array([number / 10]), loss)
    assert core.population == [1, 2]
    # Job 0 is the best ever but has aged out: the tournament picks job 2.
    assert core.tournament(np.random.default_rng(0)) == 2
    assert "population=2/2" in repr(core)


def test_mutation_changes_at_least_one_dimension_and_choices_move() -> None:
    core = EvolutionCore(np.array([False, True, False]), np.array([np.inf, 3.0, 1.0]),
                         population_size=2, sample_size=1)
    parent = np.array([0.5, 0.5, 0.5])  # choice index 1 of 3
    for seed in range(20):
        child = core.mutate(np.random.default_rng(seed), parent)
        assert child[2] == 0.5  # a constant never mutates
        assert not np.array_equal(child, parent)
        assert child[1] in (0.5, 1 / 6, 5 / 6)


def test_children_differ_in_a_parallel_batch() -> None:
    space = Space([Choice("a", [1, 2]), Choice("b", ["x", "y"]), Float("z", 0.0, 1.0, step=0.5)])
    proposer = create("evolution", space, seed=0, options_={"population_size": 3})
    for number, config in enumerate([{"a": 1, "b": "x", "z": 0.0}, {"a": 2, "b": "x", "z": 0.5},
                                     {"a": 1, "b": "y", "z": 1.0}]):
        proposer.observe(JobView(number, config, "finished", loss=float(number)))
    proposer.n_proposed = 3
    batch = proposer.propose(4, running=[])
    assert len({space.key(p.config) for p in batch}) == 4
    assert all("parent" in p.info for p in batch)


@pytest.mark.parametrize("options", [{"population_size": 1}, {"sample_size": 50}, {"mutation_scale": 0}])
def test_bad_options_are_user_errors(options: dict) -> None:
    with pytest.raises(UserError, match=next(iter(options))):
        create("evolution", Space([Float("x", 0.0, 1.0)]), seed=0, options_=options)
