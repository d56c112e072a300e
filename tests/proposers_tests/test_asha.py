from __future__ import annotations

import math
import statistics

import pytest
from _halving_sim import best_full_for_epochs, key, next_after_restore, random_full_for_epochs, run, shared_problem

from tunelab.exceptions import UserError
from tunelab.proposers import ASHAProposer, JobView, _registry, create
from tunelab.proposers._asha import AshaRungs
from tunelab.proposers._halving import ConfigSource
from tunelab.proposers._random import RandomProposer
from tunelab.space import Float, Space


def test_promotes_top_third_as_soon_as_it_exists() -> None:
    rungs = AshaRungs([1, 3, 9], eta=3)
    rungs.add(0, 0, "a")
    rungs.record(0, 0, "a", 0.5)
    rungs.add(0, 0, "b")
    rungs.record(0, 0, "b", 0.2)
    assert rungs.promotion() is None  # 2 results: top floor(2/3) = 0
    rungs.add(0, 0, "c")
    assert rungs.promotion() is None  # c still running
    rungs.record(0, 0, "c", 0.9)
    assert rungs.promotion() == (0, 1, "b")
    rungs.add(0, 1, "b")
    assert rungs.promotion() is None  # b already promoted
    for cid, loss in (("d", 0.1), ("e", 0.8), ("f", float("inf"))):
        rungs.add(0, 0, cid)
        rungs.record(0, 0, cid, loss)
    assert rungs.promotion() == (0, 1, "d")  # 6 results: top 2 are d and b


def test_higher_rungs_promote_first_and_failures_never_promote() -> None:
    rungs = AshaRungs([1, 3, 9], eta=3)
    for cid, loss in (("a", 0.1), ("b", 0.2), ("c", 0.3)):
        rungs.add(0, 0, cid)
        rungs.record(0, 0, cid, loss)
    for cid in "xyz":
        rungs.add(0, 1, cid)
        rungs.record(0, 1, cid, float("inf"))
    assert rungs.promotion() == (0, 1, "a")  # rung 1 only has failures: nothing goes up from it
    rungs.record(0, 1, "x", 0.05)
    assert rungs.promotion() == (0, 2, "x")


def test_serial_run_shape_and_brackets() -> None:
    history = run("asha", {"max_budget": 9}, jobs=4)
    assert [j.budget for j in history] == [1, 1, 1, 3]
    best = min(history[:3], key=lambda j: j.loss)
    assert history[3].info == {"bracket": 0, "rung": 1, "config_id": best.info["config_id"], "resume_from": 1}
    assert {j.info["bracket"] for j in history} == {0}  # auto: nothing says budget 1 misleads
    two = run("asha", {"max_budget": 9, "brackets": 2}, jobs=2)
    assert [(j.budget, j.info["bracket"]) for j in two] == [(1, 0), (3, 1)]


def test_a_free_slot_never_waits() -> None:
    asha = ASHAProposer(Space([Float("x", 0, 1)]), seed=0, max_budget=9)
    assert len(asha.propose(5, running=[])) == 5


@pytest.mark.parametrize("sampler", ["random", "tpe", "auto"])
def test_resume_gives_the_same_next_proposal(sampler: str) -> None:
    options = {"max_budget": 27, "sampler": sampler}
    history = run("asha", options, jobs=60)
    for k in (0, 3, 10, 25, 44, 59):
        assert next_after_restore("asha", options, history, k) == [key(history[k])], k


def test_failed_jobs_count_as_losers() -> None:
    history = run("asha", {"max_budget": 9}, jobs=40,
                  loss=lambda c, b: None if c["x"] > 5 else c["y"] / b)
    promoted = [j for j in history if j.info["rung"] > 0]
    assert promoted and all(j.config["x"] <= 5 for j in promoted)


def test_aliases_and_errors() -> None:
    space = Space([Float("x", 0, 1)])
    asha = create("asha", space, seed=0, options_={"min_resource": 3, "max_resource": 27, "reduction_factor": 3})
    assert asha.core.budgets[0] == [3, 9, 27]
    with pytest.raises(UserError, match="give only one of `min_budget`, `grace_period`"):
        create("asha", space, seed=0, options_={"min_budget": 1, "grace_period": 2})
    with pytest.raises(UserError, match="`brackets` must be \"auto\" or an integer in"):
        create("asha", space, seed=0, options_={"brackets": 9})


def test_asha_beats_random_at_full_budget_on_mf_branin() -> None:
    problem = shared_problem("mf_branin")
    epochs = 12 * problem.max_budget
    asha = [best_full_for_epochs("asha", {"max_budget": 81}, problem, s, epochs) for s in range(5)]
    rnd = [random_full_for_epochs(problem, s + 100, epochs) for s in range(5)]
    assert statistics.median(asha) + 0.3 < statistics.median(rnd), (asha, rnd)


def test_trusted_bracket_is_the_first_whose_bottom_budget_ranks_like_the_top() -> None:
    rungs = AshaRungs([1, 3, 9, 27], eta=3, brackets=4)
    assert rungs.trusted_bracket() == 0  # no evidence yet
    for i in range(6):  # budget 1 ranks the configs in reverse of budget 27; budgets 3 and 9 agree with 27
        for rung, loss in ((0, float(i)), (1, float(-i)), (2, float(-i)), (3, float(-i))):
            rungs.add(0, rung, f"c{i}")
            rungs.record(0, rung, f"c{i}", loss)
    assert rungs.trusted_bracket() == 1
    for i in range(6):
        rungs.record(0, 1, f"c{i}", float(i))
        rungs.record(0, 2, f"c{i}", float(i))
    assert rungs.trusted_bracket() == 2  # every budget misleads: still one halving, never none


def test_a_budget_that_misranks_near_equal_configs_is_still_trusted() -> None:
    """Budget 1 ranks the six configs that reached the top in reverse, but they differ there
    by 0.001 while budget 1 spreads configs over tens: a fine filter, so no bracket moves up."""
    rungs = AshaRungs([1, 3, 9], eta=3, brackets=3)
    for i in range(6):
        for rung, loss in ((0, 1.0 + i), (1, 0.5 - 0.001 * i), (2, 0.4 - 0.001 * i)):
            rungs.add(0, rung, f"c{i}")
            rungs.record(0, rung, f"c{i}", loss)
    for i in range(6, 30):
        rungs.add(0, 0, f"c{i}")
        rungs.record(0, 0, f"c{i}", 10.0 * i)
    assert rungs.trusted_bracket() == 0
    for i in range(6):  # the same misranking, now costing as much as budget 1's own spread
        rungs.record(0, 2, f"c{i}", 0.4 - 100.0 * i)
    assert rungs.trusted_bracket() == 1


def crossing(config: dict, budget: float) -> float:
    """Curves that cross: a large x learns fast but ends worse, so budgets 1 and 3 rank configs backwards."""
    u = config["x"] / 15.0
    return 0.5 + 0.3 * u + math.exp(-(0.15 + 2.0 * u) * budget)


def test_auto_brackets_start_new_configs_higher_when_low_budgets_mislead() -> None:
    space = Space([Float("x", 0.0, 15.0)])
    history = run("asha", {"max_budget": 9}, jobs=150, loss=crossing, space=space)
    starts = [j.info["bracket"] for j in history if j.info["rung"] == 0]
    assert starts[0] == 0 and starts[-1] > 0, starts
    fixed = run("asha", {"max_budget": 9, "brackets": 1}, jobs=150, loss=crossing, space=space)
    best = min(j.loss for j in history if j.budget == 9)
    assert best + 0.05 < min(j.loss for j in fixed if j.budget == 9)


def test_sampler_learns_only_from_the_budgets_it_is_told_to_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[float, float]] = []

    class Recording(RandomProposer):
        name = "recording"

        def observe(self, job: JobView) -> None:
            seen.append((job.config["x"], job.budget))

    monkeypatch.setitem(_registry._REGISTRY, "recording", Recording)
    source = ConfigSource("recording", Space([Float("x", 0.0, 1.0)]), seed=0)
    results = {1: [JobView(0, {"x": 0.1}, "finished", 0.3, 1), JobView(1, {"x": 0.2}, "finished", 0.5, 1)],
               3: [JobView(2, {"x": 0.2}, "finished", 0.4, 3)]}
    source.draw(1, 2, results, running=[], min_budget=3)
    assert seen == [(0.2, 3)]  # x=0.1, seen only at budget 1, is kept out
    seen.clear()
    source.draw(1, 3, results, running=[])
    assert sorted(seen) == [(0.1, 1), (0.2, 3)]
