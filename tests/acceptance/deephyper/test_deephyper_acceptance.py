"""Real DeepHyper experiments (see SOURCES.md), each run as its user would run it with only
the ``deephyper`` imports changed to ``tunelab.compat.deephyper``; the outcome DeepHyper
gives (best value, job counts, files written) is asserted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tunelab.api import load
from tunelab.storage import Storage

EXPERIMENTS = Path(__file__).parent / "experiments"


def run_experiment(tmp_path: Path, name: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    """Copy ``experiments/<name>`` into ``tmp_path`` and run it there with ``python``
    (or ``python -m pytest`` when ``args`` start with ``-m``), storage in ``tmp_path``."""
    shutil.copy(EXPERIMENTS / name, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNELAB_")}
    env["TUNELAB_STORAGE"] = f"sqlite:///{tmp_path / 'tunelab.db'}"
    argv = [sys.executable, *args, name] if args else [sys.executable, name]
    out = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=timeout, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def numeric(column: pd.Series) -> pd.Series:
    return pd.to_numeric(column, errors="coerce")


def test_quickstart_0_3_ambs_with_a_dict_config(tmp_path):
    """AMBS, Evaluator "subprocess", run(config: dict) returning -x**2, imports under the guard."""
    out = run_experiment(tmp_path, "quickstart_0_3.py")
    results = pd.read_csv(tmp_path / "results.csv")
    assert len(results) == 100 and results["job_id"].tolist() == list(range(100))
    assert (results["job_status"] == "DONE").all()
    assert results["objective"].max() > -0.05  # the maximum of -x**2 on [-10, 10] is 0
    assert "[100 rows x" in out.stdout


def test_quickstart_0_13_search_takes_the_evaluator(tmp_path):
    """Today's README: CBO(problem, log_dir=..., random_state=42) and search.search(evaluator, max_evals=100);
    the file asserts its own outcome (best above 1000, p:* columns, 100 rows)."""
    run_experiment(tmp_path, "quickstart_0_13.py")
    results = pd.read_csv(tmp_path / "results.csv")
    assert len(results) == 100 and results["objective"].max() > 1000
    assert list(results.columns[:8]) == ["p:b", "p:function", "p:x", "objective", "job_id", "job_status",
                                         "m:timestamp_submit", "m:timestamp_gather"]


def test_notify_failures_example_runs_unguarded_with_thread_workers(tmp_path):
    """The "Learn to Avoid Failures" example: three searches at module level (no __main__ guard),
    method "thread" with a TqdmCallback, run returning "F_value_error" when p_failure > 0.5, then
    matplotlib plots of each results table."""
    run_experiment(tmp_path, "notify_failures.py")
    for strategy in ("ignore", "mean", "min"):
        results = pd.read_csv(tmp_path / f"search_{strategy}" / "results.csv")
        assert len(results) == 100 and (results["job_status"] == "DONE").all()
        failed = results["objective"].astype(str) == "F_value_error"
        assert failed.any() and (results.loc[failed, "p:p_failure"] > 0.5).all()
        assert (results.loc[~failed, "p:p_failure"] <= 0.5).all()
        ok = results[~failed]
        xs = ok[[f"p:x{i}" for i in range(10)]].sum(axis=1)
        assert numeric(ok["objective"]).sub(xs).abs().max() < 1e-9
        assert numeric(ok["objective"]).max() > 8  # the sum of ten values in [0, 1]


def test_random_search_tests_with_conditions_and_two_objectives(tmp_path):
    """DeepHyper's own tests of RandomSearch, run by pytest: ConfigSpace NotEqualsConditions on the
    hyperparameters add_hyperparameter returned, a serial and a 10-thread evaluator, and a run returning
    a tuple (objective_0, objective_1, pareto_efficient)."""
    out = run_experiment(tmp_path, "test_random_search.py", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                         f"--basetemp={tmp_path / 'pytest'}", "-k", "test_centralized_random_search and not storage")
    assert "2 passed" in out.stdout
    runs = {e.name: e for e in Storage(f"sqlite:///{tmp_path / 'tunelab.db'}").experiments()}
    two = [name for name in runs if name.endswith("-moo")]
    assert len(two) == 1 and len(load(two[0], storage=f"sqlite:///{tmp_path / 'tunelab.db'}").front) >= 1
    results = pd.read_csv(next((tmp_path / "pytest").glob("test_centralized_random_search0/results.csv")))
    assert len(results) == 100  # the 10-thread search (its log_dir is pytest's tmp_path)
    inactive = results["p:x_cat"] == "c"
    assert results.loc[inactive, ["p:x_int", "p:x_float", "p:x_ord", "p:x_const"]].isna().all().all()
    assert (results.loc[inactive, "objective"] == "F").all()  # run reads a parameter the condition removed
    ok = results[~inactive]
    expected = ok["p:x_int"] + ok["p:x_float"] + ok["p:x_cat"].map(ord) + ok["p:x_ord"] + ok["p:x_const"]
    assert (numeric(ok["objective"]) - expected).abs().max() < 1e-9


def test_black_box_optimization_tutorial_with_ask_and_tell(tmp_path):
    """The "Black-Box Optimization" tutorial: deephyper.__version__, an ask/tell loop of 100
    steps, then a 4-thread search, parameters_at_max and the trajectory plot, all at module level."""
    out = run_experiment(tmp_path, "black_box_optimization.py")
    asked = [line for line in out.stdout.splitlines() if line.startswith("[i=")]
    assert len(asked) == 100 and asked[-1].startswith("[i=099] >>> f(x=")
    optimum = dict(line.split(": ", 1) for line in out.stdout.split("Optimum values")[1].strip().splitlines())
    assert abs(float(optimum["x"])) < 0.5 and float(optimum["objective"]) > -0.25  # max of -x**2 is 0 at x=0
    results = pd.read_csv(tmp_path / "results.csv")
    assert len(results) == 100 and float(optimum["objective"]) == results["objective"].max()
