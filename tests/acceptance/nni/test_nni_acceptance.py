"""NNI's own example experiments (SOURCES.md) run by `tunelab run` with only the `nni`
imports of their trial code changed; each asserts what NNI gives for the same run: the
number of trials, the value the trial computes for the best configuration, the
parameters in NNI's shape, the budgets and intermediate results."""

from __future__ import annotations

import ast
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from sklearn.metrics import r2_score

from tests.conftest import show, tunelab

HERE = Path(__file__).resolve().parent / "experiments"


@pytest.fixture
def run(tmp_path: Path):
    """Copy one experiment folder and run one of its configs with a small trial budget."""

    def start(folder: str, config: str, trials: int) -> tuple[dict, str]:
        work = Path(shutil.copytree(HERE / folder, tmp_path / folder))
        storage = f"sqlite:///{tmp_path / 'tunelab.db'}"
        out = tunelab("run", config, "--n-samples", str(trials), "--plain", "--storage", storage, cwd=work,
                      timeout=240)
        assert out.returncode == 0, out.stderr
        listing = tunelab("ls", "--storage", storage).stdout
        name = "example_mnist" if "example_mnist" in listing else folder
        return show(name, storage), out.stdout

    return start


def _module(folder: str, script: str) -> ModuleType:
    """The experiment's trial script imported (its work is under ``__main__``), to compute
    what it gives for a configuration."""
    spec = importlib.util.spec_from_file_location(f"acceptance_{folder.replace('-', '_')}", HERE / folder / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stdout(job: dict) -> str:
    return Path(job["attempts"][-1]["folder"], "stdout").read_text()


def test_sklearn_classification_tpe_maximizes_svc_accuracy(run):
    result, _ = run("sklearn-classification", "config.yml", 2)
    jobs = result["jobs"]
    assert [j["status"] for j in jobs] == ["finished"] * 2 and result["experiment"]["spec"]["target"] == "max"
    assert result["best"]["result"] == max(j["result"] for j in jobs)
    trial = _module("sklearn-classification", "main.py")
    params = {**trial.get_default_parameters(), **result["best"]["config"]}
    model = trial.get_model(params)
    x_train, x_test, y_train, y_test = trial.load_data()
    assert result["best"]["result"] == pytest.approx(model.fit(x_train, y_train).score(x_test, y_test))


def test_sklearn_regression_choices_reach_the_trial_as_written(run):
    result, _ = run("sklearn-regression", "config.yml", 2)
    jobs = result["jobs"]
    assert [j["status"] for j in jobs] == ["finished"] * 2
    assert len({tuple(sorted(j["config"].items())) for j in jobs}) == 2  # no configuration twice
    for job in jobs:
        assert job["config"]["model_name"] in ("LinearRegression", "Lars", "Ridge", "ARDRegression")
        assert job["config"]["normalize"] in ("true", "false")  # strings, as NNI passes them
    trial = _module("sklearn-regression", "main.py")
    x_train, x_test, y_train, y_test = trial.load_data()
    for job in jobs:  # the r2 score the script gives each configuration
        model = trial.get_model({**trial.get_default_parameters(), **job["config"]}).fit(x_train, y_train)
        assert job["result"] == pytest.approx(r2_score(y_test, model.predict(x_test)))


def test_nested_search_space_reaches_the_trial_in_nni_shape(run):
    result, _ = run("mnist-nested-search-space", "config.yml", 2)
    jobs = result["jobs"]
    assert [j["status"] for j in jobs] == ["finished"] * 2
    for job in jobs:
        printed = ast.literal_eval(_stdout(job).strip().splitlines()[-1])
        for i in range(4):
            name = job["config"][f"layer{i}"]
            size = {k: v for k, v in job["config"].items() if k.startswith(f"layer{i}/")}
            assert printed[f"layer{i}"] == ([name] if name == "Empty" else [name, *size.values(), *size.values()])
        assert 0 < job["result"] <= 1


def test_v1_hyperband_advisor_gives_each_trial_its_budget(run):
    result, out = run("mnist-advisor", "config_hyperband.yml", 3)
    jobs = result["jobs"]
    assert [j["status"] for j in jobs] == ["finished"] * 3 and result["experiment"]["name"] == "example_mnist"
    for job in jobs:
        budget = job["budget"]
        assert 0 < budget <= 100  # R = 100
        batches = int(budget * 100)
        assert len(job["intermediate"]) == (batches + 99) // 100  # one report every 100 batches
        assert "'TRIAL_BUDGET': " in _stdout(job) and f"'batch_num': {batches}" in _stdout(job)
    assert "best" in out


def test_curvefitting_assessor_with_merge_parameter(run):
    result, _ = run("mnist-pytorch", "config_assessor.yml", 2)
    jobs = result["jobs"]
    assert len(jobs) == 2 and {j["status"] for j in jobs} <= {"finished", "stopped"}
    for job in jobs:
        params = ast.literal_eval(_stdout(job).splitlines()[0])
        assert {k: params[k] for k in job["config"]} == job["config"]  # merged over the argparse defaults
        assert params["epochs"] == 10 and params["seed"] == 1
        if job["status"] == "finished":
            assert len(job["intermediate"]) == 10 and job["result"] == job["intermediate"][-1][1]


def test_python_launch_quickstart_runs_its_ten_trials(tmp_path):
    """NNI's current HPO quickstart: `Experiment('local')` configured and run from main.py."""
    work = Path(shutil.copytree(HERE / "hpo-quickstart", tmp_path / "hpo-quickstart"))
    storage = f"sqlite:///{tmp_path / 'tunelab.db'}"
    done = subprocess.run([sys.executable, "main.py"], cwd=work, capture_output=True, text=True, timeout=240,
                          env={**os.environ, "TUNELAB_STORAGE": storage})  # as a user runs it: python main.py
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("experiment nni-")]
    name = line.split()[1].rstrip(":")
    result = show(name, storage)
    jobs = result["jobs"]
    assert [j["status"] for j in jobs] == ["finished"] * 10  # max_trial_number = 10
    assert result["experiment"]["spec"]["n_parallel"] == 2 and result["experiment"]["spec"]["target"] == "max"
    for job in jobs:
        assert set(job["config"]) == {"features", "lr", "momentum"} and 1e-4 <= job["config"]["lr"] <= 0.1
        assert len(job["intermediate"]) == 5 and job["result"] == job["intermediate"][-1][1]  # 5 epochs
    assert result["best"]["result"] == max(j["result"] for j in jobs)
