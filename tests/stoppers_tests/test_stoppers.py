from __future__ import annotations

import math

import numpy as np
import pytest

import tunelab.stoppers as stoppers
from tunelab.exceptions import UserError
from tunelab.proposers import JobView
from tunelab.stoppers import (
    BanditStopper,
    CurveFittingStopper,
    Decision,
    MedianStopper,
    NeverStop,
    SuccessiveHalvingStopper,
    TruncationStopper,
    create,
    from_auptimizer,
    from_deephyper,
    from_nni,
    predict_final,
)
from tunelab.stoppers._base import checkpoint

STOP, GO = Decision.STOP, Decision.CONTINUE


def job(number: int, losses: list[float], status: str = "running", start: int = 1) -> JobView:
    curve = [(start + i, v) for i, v in enumerate(losses)]
    final = losses[-1] if status == "finished" else None
    return JobView(number, {}, status, final, intermediate=curve)


def test_exports() -> None:
    public = {n for n in dir(stoppers) if not n.startswith("_")} - {"annotations"}
    assert sorted(stoppers.__all__) == sorted(public)


def test_checkpoint_crossing() -> None:
    assert checkpoint(job(0, [1, 1, 1]), interval=2) is None  # step 3: 2 was judged at step 2
    assert checkpoint(job(0, [1, 1, 1, 1]), interval=2) == 4
    skipping = JobView(0, {}, intermediate=[(1, 1.0), (5, 1.0)])
    assert checkpoint(skipping, interval=2) == 4
    assert checkpoint(job(0, [1, 1]), interval=1, warmup=3) is None
    assert NeverStop().decide(job(0, [9.0]), []) is GO


def test_median_optuna_like() -> None:
    done = [job(i, [1.0, v], "finished") for i, v in enumerate([0.1, 0.2, 0.3, 0.4, 0.5])]
    rule = MedianStopper()
    assert rule.decide(job(9, [1.0, 0.35]), done) is STOP  # best 0.35 > median 0.3
    assert rule.decide(job(9, [1.0, 0.3]), done) is GO  # not strictly worse
    assert rule.decide(job(9, [0.2, 0.35]), done) is GO  # best so far 0.2
    assert rule.decide(job(9, [1.0, 0.35]), done[:4]) is GO  # fewer than n_startup_jobs
    running = [job(i, [1.0, 0.0]) for i in range(10, 20)]
    assert rule.decide(job(9, [1.0, 0.35]), done + running) is STOP  # running ones ignored
    assert MedianStopper(n_warmup_steps=3).decide(job(9, [1.0, 0.35]), done) is GO


def test_median_running_averages_auptimizer() -> None:
    rule = from_auptimizer({"aup_policy": "median", "aup_policy_steps": 2})
    others = [job(1, [0.4, 0.2]), job(2, [0.6, 0.4]), job(3, [0.2, 0.2, 0.2], "finished")]
    # averages at step 2: 0.3, 0.5, 0.2 -> median 0.3; own average (0.5+0.2)/2 = 0.35
    assert rule.decide(job(9, [0.5, 0.2]), others) is STOP
    assert rule.decide(job(9, [0.4, 0.2]), others) is GO
    assert rule.decide(job(9, [0.5]), others) is GO  # step 1 is no multiple of 2


def test_truncation_cuts_worst_fraction() -> None:
    pool = [job(i, [float(i)]) for i in range(9)]  # 0..8
    rule = TruncationStopper(percentage=0.3)  # n = 10, cut 3: stop if 7+ jobs are better
    assert rule.decide(job(9, [6.5]), pool) is STOP
    assert rule.decide(job(9, [5.5]), pool) is GO
    assert rule.decide(job(9, [6.0]), pool) is GO  # tied with 6: 6 better


def test_bandit_ratio_both_signs() -> None:
    rule = BanditStopper(factor=0.5)
    accuracy = [job(1, [-0.8])]  # maximized, signed to minimize
    assert rule.decide(job(9, [-0.39]), accuracy) is STOP  # below half the best accuracy
    assert rule.decide(job(9, [-0.41]), accuracy) is GO
    error = [job(1, [0.2])]
    assert rule.decide(job(9, [0.31]), error) is STOP  # above 150% of the best error
    assert rule.decide(job(9, [0.29]), error) is GO
    assert rule.decide(job(9, [5.0]), []) is GO


def test_successive_halving_rungs_and_decisions() -> None:
    rule = SuccessiveHalvingStopper(min_steps=1, max_steps=27, reduction_factor=3)
    assert rule.rungs == [1, 3, 9]
    rivals = [job(i, [float(i)] * 3) for i in range(5)]  # values 0..4 at steps 1..3
    assert rule.decide(job(9, [0.5]), rivals) is GO  # 6 at rung 1: keep 2, only 0 is better
    assert rule.decide(job(9, [1.5]), rivals) is STOP  # 0 and 1 are better
    assert rule.decide(job(9, [0.5]), rivals[:2]) is STOP  # 3 at the rung: keep 1
    assert rule.decide(job(9, [-1.0]), rivals) is GO
    assert rule.decide(job(9, [-1.0, 9.0]), rivals) is GO  # step 2 is no rung
    assert rule.decide(job(9, [-1.0, 9.0, 2.5]), rivals) is STOP  # rung 3: 3 better of 6, keep 2
    assert SuccessiveHalvingStopper(max_steps=27, min_competing=9).decide(job(9, [3.0]), rivals) is GO


def test_curve_fitting_predicts_a_saturating_curve() -> None:
    steps = np.arange(1, 16)
    curve = 0.1 + 0.9 * np.power(steps, -0.7)
    assert predict_final(steps, curve, 100) == pytest.approx(0.1 + 0.9 * 100**-0.7, abs=0.01)
    exp_curve = 0.3 + 0.5 * np.exp(-0.25 * steps)
    assert predict_final(steps, exp_curve, 80) == pytest.approx(0.3, abs=0.01)
    assert predict_final([1, 2, 3, 4], [0.5] * 4, 50) == 0.5
    assert predict_final(steps, curve, 100, out_of_time=lambda: True) is None


def test_curve_fitting_decisions() -> None:
    best = job(0, [0.5, 0.3, 0.2], "finished")
    rule = CurveFittingStopper(max_step=50, start_step=4)
    hopeless = [0.6 + 0.4 * math.exp(-0.5 * t) for t in range(1, 9)]
    promising = [0.1 + 0.8 * math.exp(-0.1 * t) for t in range(1, 9)]
    assert rule.decide(job(1, hopeless), [best]) is STOP
    assert rule.decide(job(1, promising), [best]) is GO
    assert rule.decide(job(1, hopeless[:3]), [best]) is GO  # before start_step
    assert rule.decide(job(1, hopeless), []) is GO  # nothing finished yet


def test_registry_and_translators() -> None:
    assert stoppers.names() == ["bandit", "curve_fitting", "median", "never", "successive_halving", "truncation"]
    with pytest.raises(UserError, match=r"unknown value 'medain' \(did you mean 'median'\?\); choose one of"):
        create("medain")
    with pytest.raises(UserError, match=r"'warmup' = 3 is not an option of stopper 'median'; its options are"):
        create("median", warmup=3)
    with pytest.raises(UserError, match=r"stopper_args \(stopper 'truncation'\): `percentage` must lie in"):
        create("truncation", percentage=3)
    with pytest.raises(UserError, match="needs option 'max_steps'"):
        create("successive_halving")
    assert isinstance(from_auptimizer({"aup_policy": "truncation", "aup_policy_steps": 5, "warmup": 10,
                                       "truncation_percentage": 0.6}), TruncationStopper)
    cf = from_auptimizer({"aup_policy": "curve_fitting", "aup_policy_steps": 2, "curve_fitting_max_iters": 40})
    assert (cf.max_step, cf.interval_steps, cf.threshold) == (40, 2, 0.95)
    with pytest.raises(UserError, match="aup_policy: unknown value 'fast'"):
        from_auptimizer({"aup_policy": "fast", "aup_policy_steps": 1})
    with pytest.raises(UserError, match="'bandit_factor' = 0.5 is not an option of aup_policy 'median'"):
        from_auptimizer({"aup_policy": "median", "aup_policy_steps": 1, "bandit_factor": 0.5})
    median = from_nni("Medianstop", {"start_step": 3, "optimize_mode": "maximize"})
    assert (median.n_warmup_steps, median.own, median.others) == (3, "best", "average")
    assert from_nni("Curvefitting", {"epoch_num": 20, "gap": 2}).interval_steps == 2
    with pytest.raises(UserError, match="choose one of Curvefitting, Medianstop"):
        from_nni("Other")
    assert from_deephyper("SuccessiveHalvingStopper", {"max_steps": 100, "reduction_factor": 4}).rungs == [1, 4, 16, 64]
    assert isinstance(from_deephyper("MedianStopper", {"max_steps": 10}), MedianStopper)
