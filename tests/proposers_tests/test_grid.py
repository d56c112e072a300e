from __future__ import annotations

import time

from tunelab import Optimizer
from tunelab.optimizer import NothingToPropose


def test_a_huge_grid_is_walked_lazily() -> None:
    space = [{"name": f"x{i}", "type": "float", "range": [0, 1]} for i in range(20)]  # 10**20 points
    start = time.perf_counter()
    opt = Optimizer(space, proposer="grid")
    configs = opt.ask(3)
    assert time.perf_counter() - start < 5
    assert [c["x19"] for c in configs] == [0.0, 1 / 9, 2 / 9] and all(c["x0"] == 0.0 for c in configs)


def test_grid_skips_done_configs_and_then_is_exhausted() -> None:
    space = [{"name": "n", "type": "int", "range": [1, 4]}]
    opt = Optimizer(space, proposer="grid", initial_configs=[{"n": 3}])
    seen = []
    while True:
        try:
            config = opt.ask()
        except NothingToPropose:
            break
        seen.append(config["n"])
        opt.tell(config, 0.0)
    assert seen == [3, 1, 2, 4]
