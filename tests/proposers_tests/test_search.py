"""The search wrapper around every proposer: finite spaces are enumerated, never repeated."""

from __future__ import annotations

import pytest

from tunelab import Optimizer, proposers

SMALL = [{"name": "a", "type": "choice", "range": ["x", "y"]}, {"name": "b", "type": "int", "range": [1, 3]}]
SINGLE_FIDELITY = [n for n in proposers.names() if not proposers.get(n).multi_fidelity and n not in ("batch",)]


@pytest.mark.parametrize("name", SINGLE_FIDELITY)
def test_every_config_of_a_small_finite_space_runs_once_then_the_search_ends(name):
    opt = Optimizer(SMALL, proposer=name, random_seed=0)
    seen = []
    for _ in range(6):
        config = opt.ask()
        seen.append((config["a"], config["b"]))
        opt.tell(config, float(config["b"]))
    assert len(set(seen)) == 6
    assert opt.exhausted
