"""The ask/tell API: tunelab.Optimizer."""

from __future__ import annotations

import json
import math

import pytest

import tunelab
from tests.proposers_tests.test_contract_core import OPTIONS as CONTRACT_OPTIONS
from tunelab.exceptions import SpecError, UserError
from tunelab.optimizer import NothingToPropose, Optimizer

XY = [{"name": "x", "type": "float", "range": [-5.0, 5.0]}, {"name": "y", "type": "float", "range": [-5.0, 5.0]}]


def quadratic(config: dict) -> float:
    return (config["x"] - 1.0) ** 2 + (config["y"] + 2.0) ** 2


def loop(opt: Optimizer, n: int, objective=quadratic) -> None:
    for _ in range(n):
        config = opt.ask()
        opt.tell(config, objective(config))


def test_exported_lazily() -> None:
    assert tunelab.Optimizer is Optimizer


@pytest.mark.parametrize("proposer", ["tpe", "cmaes", "auto"])
def test_ask_tell_finds_the_minimum_of_a_quadratic(proposer: str) -> None:
    opt = Optimizer(XY, proposer=proposer, random_seed=1)
    loop(opt, 40)
    assert opt.best["value"] < 0.3
    assert set(opt.best["config"]) == {"x", "y"}


def test_target_max_keeps_the_users_sign() -> None:
    opt = Optimizer(XY, proposer="tpe", target="max", random_seed=0)
    loop(opt, 30, objective=lambda c: -quadratic(c))
    assert -0.5 < opt.best["value"] <= 0.0
    assert opt.best["value"] == max(h["value"] for h in opt.history)


def test_failed_tells_are_recorded_and_never_best() -> None:
    opt = Optimizer(XY, proposer="tpe", random_seed=0, n_startup_jobs=3)
    for i in range(12):
        config = opt.ask()
        opt.tell(config, None if i % 3 == 0 else (math.nan if i % 3 == 1 else quadratic(config)))
    statuses = [h["status"] for h in opt.history]
    assert statuses.count("failed") == 8 and statuses.count("finished") == 4
    assert opt.best["value"] == min(h["value"] for h in opt.history if h["status"] == "finished")


def test_infinite_value_is_a_failure_and_a_string_is_an_error() -> None:
    opt = Optimizer(XY, proposer="random")
    opt.tell(opt.ask(), math.inf)
    assert opt.history[0]["status"] == "failed"
    with pytest.raises(UserError, match="must be a number"):
        opt.tell(opt.ask(), "low")


HOSTILE_RESULTS = {
    "constant": lambda i: 1.0,
    "huge": lambda i: [1e300, -1e300, 1e-300, 0.0, 5e307][i % 5],
    "mostly failures": lambda i: [None, math.nan, math.inf, -math.inf, 2.0 * i][i % 5],
}
START_UP = {**CONTRACT_OPTIONS, "gp": {"n_initial": 4}, "smac": {"n_initial": 4}}
"""Small start-up options, so every model proposes within a short run."""


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("results", sorted(HOSTILE_RESULTS))
@pytest.mark.parametrize("proposer", ["auto", "random", *sorted(START_UP)])
def test_hostile_results_leave_every_proposer_working(proposer: str, results: str) -> None:
    """Ties, results near the float limits and runs of failures: valid configs, no warnings."""
    space = [*XY, {"name": "n", "type": "int", "range": [1, 100], "log": True},
             {"name": "c", "type": "choice", "range": ["a", "b", "c"]}]
    opt = Optimizer(space, proposer=proposer, random_seed=0, **START_UP.get(proposer, {}))
    value = HOSTILE_RESULTS[results]
    for i in range(16):
        for config in opt.ask(2):
            assert opt.space.validate(config) == config
            opt.tell(config, value(i))
    assert len(opt.history) == 32


def test_best_is_none_before_any_result() -> None:
    opt = Optimizer(XY, proposer="random")
    assert opt.best is None
    opt.ask()
    assert opt.best is None and len(opt.running) == 1


def test_same_seed_same_sequence() -> None:
    def sequence(seed: int) -> list[dict]:
        opt = Optimizer(XY, proposer="auto", random_seed=seed, n_samples=20)
        loop(opt, 14)
        return [h["config"] for h in opt.history]

    assert sequence(3) == sequence(3)
    assert sequence(3) != sequence(4)


def test_batch_ask_gives_distinct_configs() -> None:
    opt = Optimizer(XY, proposer="tpe", random_seed=0, n_startup_jobs=4)
    loop(opt, 6)
    batch = opt.ask(5)
    assert len(batch) == 5
    assert len({(c["x"], c["y"]) for c in batch}) == 5
    for config in reversed(batch):  # any order
        opt.tell(config, quadratic(config))
    assert not opt.running


def test_initial_configs_come_first() -> None:
    opt = Optimizer(XY, proposer="random", initial_configs=[{"x": 1.0, "y": -2.0}])
    assert opt.ask() == {"x": 1.0, "y": -2.0}


def test_finite_space_is_exhausted_without_repeats() -> None:
    opt = Optimizer([{"name": "n", "type": "int", "range": [1, 3]}], proposer="tpe")
    seen = [opt.ask() for _ in range(3)]
    assert sorted(c["n"] for c in seen) == [1, 2, 3]
    assert opt.ask(2) == []
    with pytest.raises(NothingToPropose):
        opt.ask()


def test_telling_an_unknown_config_is_a_user_error() -> None:
    opt = Optimizer(XY, proposer="random")
    config = opt.ask()
    opt.tell(config, 1.0)
    with pytest.raises(UserError, match="not a running config"):
        opt.tell(config, 1.0)


def test_unknown_proposer_lists_the_names() -> None:
    with pytest.raises(UserError, match="choose one of .*auto.*tpe"):
        Optimizer(XY, proposer="bayes-magic")


def test_unknown_option_is_an_error() -> None:
    with pytest.raises(UserError, match="'flavour' is not an option of proposer 'tpe'"):
        Optimizer(XY, proposer="tpe", flavour=1)


def test_bad_target_is_an_error() -> None:
    with pytest.raises(UserError, match="target"):
        Optimizer(XY, target="maximize")


def test_bad_parameter_config_is_one_spec_error_line() -> None:
    with pytest.raises(SpecError) as caught:
        Optimizer([{"name": "x", "type": "float", "range": [5, 1]}])
    assert caught.value.problems == ["parameter_config[0].range: expected [low, high] with low < high, got [5, 1]"]


def test_multi_fidelity_budget_round_trip() -> None:
    opt = Optimizer([{"name": "x", "type": "float", "range": [0.0, 1.0]}], proposer="hyperband", max_iter=9)
    config, budget = opt.ask_budget()
    assert budget is not None
    opt.tell(config, config["x"], budget=budget, intermediate=[(1, 0.5)])
    assert opt.history[0]["budget"] == budget and opt.history[0]["status"] == "finished"


def test_several_objectives_through_ask_and_tell() -> None:
    space = [{"name": "x", "type": "float", "range": [0, 1]}, {"name": "y", "type": "float", "range": [0, 1]}]
    opt = Optimizer(space, proposer="auto", target=["max", "min"], random_seed=1)
    assert opt.proposer.plan.names == ["motpe"]
    for _ in range(15):
        config = opt.ask()
        opt.tell(config, (config["x"], config["x"] ** 2 + config["y"]))
    config = opt.ask()
    opt.tell(config, (float("nan"), 1.0))
    assert opt.history[-1]["status"] == "failed" and opt.best is None
    done = [(h["value"], h["config"]) for h in opt.history if h["status"] == "finished"]
    beaten = [c for (a, b), c in done if any(a2 >= a and b2 <= b and (a2, b2) != (a, b) for (a2, b2), _ in done)]
    assert {json.dumps(f["config"], sort_keys=True) for f in opt.front} == {
        json.dumps(c, sort_keys=True) for _, c in done if c not in beaten}
    with pytest.raises(UserError, match="sequence of 2 numbers"):
        opt.tell(opt.ask(), 0.5)
    with pytest.raises(UserError, match="optimizes one objective"):
        Optimizer(space, proposer="tpe", target=["max", "min"])
