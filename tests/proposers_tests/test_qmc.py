"""Space-filling designs addressed by index."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.exceptions import UserError
from tunelab.proposers import create
from tunelab.proposers._qmc import QMCDesign
from tunelab.space import Float, Space


@pytest.mark.parametrize("method", ["sobol", "halton", "lhs"])
def test_points_by_index_equal_the_whole_sequence(method: str) -> None:
    whole = QMCDesign(3, method, seed=5).points(0, 150)
    assert np.array_equal(QMCDesign(3, method, seed=5).points(70, 80), whole[70:])
    assert whole.min() >= 0.0 and whole.max() < 1.0
    assert not np.array_equal(QMCDesign(3, method, seed=6).points(0, 10), whole[:10])


def test_sobol_blocks_are_balanced() -> None:
    points = QMCDesign(2, "sobol", seed=0).points(0, 64)
    for dim in range(2):
        counts = np.bincount((points[:, dim] * 8).astype(int), minlength=8)
        assert counts.tolist() == [8] * 8


def test_lhs_blocks_are_latin() -> None:
    points = QMCDesign(2, "lhs", seed=0).points(64, 64)
    for dim in range(2):
        assert sorted((points[:, dim] * 64).astype(int).tolist()) == list(range(64))


def test_proposer_continues_at_n_proposed() -> None:
    space = Space([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)])
    first = create("qmc", space, seed=1).propose(6, running=[])
    later = create("qmc", space, seed=1)
    later.n_proposed = 4
    assert [p.config for p in later.propose(2, running=[])] == [p.config for p in first[4:]]
    assert [p.info["qmc_index"] for p in first] == list(range(6))


def test_unknown_method_is_a_user_error() -> None:
    with pytest.raises(UserError, match="sobol, halton, lhs"):
        create("qmc", Space([Float("x", 0.0, 1.0)]), seed=0, options_={"method": "grid"})
