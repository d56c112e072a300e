from __future__ import annotations

import statistics

import pytest
from _halving_sim import (
    best_full_for_epochs,
    key,
    next_after_restore,
    random_full_for_epochs,
    run,
    shared_problem,
)

from tunelab.exceptions import UserError
from tunelab.proposers import HyperbandProposer, create
from tunelab.proposers._halving import Bracket, hyperband_sizes, rung_budgets
from tunelab.space import Float, Space

SPACE1 = Space([Float("x", 0.0, 1.0)])


def test_bracket_sizes_for_81_and_3() -> None:
    assert rung_budgets(1, 81, 3) == [1, 3, 9, 27, 81]
    assert hyperband_sizes(5, 3) == [[81, 27, 9, 3, 1], [34, 11, 3, 1], [15, 5, 1], [8, 2], [5]]
    hb = HyperbandProposer(SPACE1, seed=0, max_iter=81, eta=3)
    assert [(sizes, list(budgets)) for sizes, budgets in hb._templates] == [
        ([81, 27, 9, 3, 1], [1, 3, 9, 27, 81]), ([34, 11, 3, 1], [3, 9, 27, 81]),
        ([15, 5, 1], [9, 27, 81]), ([8, 2], [27, 81]), ([5], [81])]


def test_skip_last_drops_each_last_rung_and_the_one_rung_bracket() -> None:
    hb = HyperbandProposer(SPACE1, seed=0, max_iter=9, skip_last=1)
    assert [(sizes, list(budgets)) for sizes, budgets in hb._templates] == [([9, 3], [1, 3]), ([5], [3])]


def test_bracket_promotes_best_only_when_rung_complete() -> None:
    b = Bracket(0, [3, 1], [1, 3])
    for cid in "abc":
        b.add(0, cid)
    b.record(0, "a", 0.5)
    b.record(0, "b", 0.1)
    assert b.runnable() == []
    b.record(0, "c", 0.3)
    assert b.runnable() == [(1, "b")]
    b.add(1, "b")
    assert b.runnable() == [] and not b.done
    b.record(1, "b", 0.05)
    assert b.done and b.best() == ("b", 0.05)


def test_failed_members_lose_and_an_all_failed_rung_ends_the_bracket() -> None:
    b = Bracket(0, [3, 1], [1, 3])
    for cid in "abc":
        b.add(0, cid)
        b.record(0, cid, float("inf"))
    assert b.runnable() == [] and b.done
    b2 = Bracket(1, [3, 2], [1, 3])
    for cid, loss in (("a", float("inf")), ("b", 0.2), ("c", float("inf"))):
        b2.add(0, cid)
        b2.record(0, cid, loss)
    assert b2.runnable() == [(1, "b")]


def test_first_bracket_then_promotions_carry_config_and_resume_from() -> None:
    history = run("hyperband", {"max_iter": 9}, jobs=12)
    assert [j.budget for j in history] == [1] * 9 + [3] * 3
    rung0 = sorted(history[:9], key=lambda j: j.loss)[:3]
    promoted = history[9:12]
    assert [j.info["config_id"] for j in promoted] == [j.info["config_id"] for j in rung0]
    assert [j.config for j in promoted] == [j.config for j in rung0]
    assert all(j.info["resume_from"] == 1 and j.info["rung"] == 1 for j in promoted)


@pytest.mark.parametrize("engine", ["random", "tpe"])
def test_resume_gives_the_same_next_proposals(engine: str) -> None:
    options = {"max_iter": 27, "engine": engine}
    history = run("hyperband", options, jobs=70)
    for k in (0, 5, 27, 31, 40, 62, 69):
        assert next_after_restore("hyperband", options, history, k) == [key(history[k])], k


def test_failed_jobs_do_not_stall_and_one_pass_is_exhausted() -> None:
    def loss(config: dict, budget: float) -> float | None:
        return None if config["x"] > 0 else config["y"] / budget

    history = run("hyperband", {"max_iter": 9, "iterations": 1}, jobs=500, loss=loss)
    brackets = {j.info["bracket"] for j in history}
    assert brackets == {0, 1, 2}
    assert len(history) < 500  # exhausted after one pass


def test_options_aliases_and_errors() -> None:
    assert create("hyperband", SPACE1, seed=0, options_={"R": 27}).budgets == [1, 3, 9, 27]
    with pytest.raises(UserError, match="not both"):
        create("hyperband", SPACE1, seed=0, options_={"R": 27, "max_iter": 81})
    with pytest.raises(UserError, match="'bogus' is not an option"):
        create("hyperband", SPACE1, seed=0, options_={"bogus": 1})
    with pytest.raises(UserError, match="`eta` must be a number > 1"):
        create("hyperband", SPACE1, seed=0, options_={"eta": 1})
    with pytest.raises(UserError, match="unknown name 'nope'"):
        create("hyperband", SPACE1, seed=0, options_={"engine": "nope"})


def test_hyperband_beats_random_at_full_budget_on_mf_branin() -> None:
    problem = shared_problem("mf_branin")
    epochs = 12 * problem.max_budget
    hb = [best_full_for_epochs("hyperband", {"max_iter": 81}, problem, s, epochs) for s in range(5)]
    rnd = [random_full_for_epochs(problem, s + 100, epochs) for s in range(5)]
    assert statistics.median(hb) + 0.3 < statistics.median(rnd), (hb, rnd)
