"""Studio.ml's own sweeps (SOURCES.md) run by `tunelab sweep` with Studio.ml's
`--hyperparam` strings as written; Studio.ml scripts need no import changed, since the
values are substituted into a copy of the script. Each asserts what Studio.ml gives for
the same sweep: one job per grid value with that value in the script, the metric it
reads, the files the jobs write, and jobs without a metric that still finish."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import show, tunelab

HERE = Path(__file__).resolve().parent / "experiments"
TFEVENTS = Path(__file__).resolve().parents[2] / "formats_tests" / "tfevents.py"  # a TensorBoard event writer


@pytest.fixture
def sweep(tmp_path: Path):
    """Copy one experiment folder and run ``tunelab sweep`` from it; returns the stored
    experiment (``show --json``), the run's output and the jobs' workspaces by job number."""

    def start(folder: str, *args: str) -> tuple[dict, str, dict[int, Path]]:
        work = Path(shutil.copytree(HERE / folder, tmp_path / folder))
        shutil.copy(TFEVENTS, work / "tfevents.py")
        storage = f"sqlite:///{tmp_path / 'tunelab.db'}"
        out = tunelab("sweep", "--name", folder, "--plain", "--storage", storage, *args, cwd=work, timeout=240)
        assert out.returncode == 0, out.stderr
        result = show(folder, storage)
        spaces = {job["number"]: Path(job["attempts"][-1]["folder"], "workspace") for job in result["jobs"]}
        return result, out.stdout + out.stderr, spaces

    return start


def _printed(space: Path) -> str:
    """What the job's script printed (the stdout beside its workspace)."""
    return Path(space.parent, "stdout").read_text()


def test_single_value_is_substituted_and_the_job_finishes_without_a_metric(sweep):
    """Studio.ml's tests/local_worker_test.py: `--hyperparam=learning_rate=0.4` prints 0.4."""
    result, out, spaces = sweep("hello-world", "--hyperparam=learning_rate=0.4", "hyperparam_hello_world.py")
    (job,) = result["jobs"]
    assert job["status"] == "finished" and job["result"] is None and job["config"] == {"learning_rate": 0.4}
    assert _printed(spaces[0]).strip() == "0.4"
    assert result["experiment"]["status"] == "finished" and out.count("no metric was found") == 1


def test_log_grid_of_studios_parser_test_runs_one_job_per_value(sweep):
    """Studio.ml's tests/hyperparam_test.py: `0.01:4l:10` is 0.01, 0.1, 1, 10."""
    result, out, spaces = sweep("hello-world", "-hp", "learning_rate=0.01:4l:10", "hyperparam_hello_world.py")
    jobs = sorted(result["jobs"], key=lambda j: j["config"]["learning_rate"])
    assert [j["config"]["learning_rate"] for j in jobs] == pytest.approx([0.01, 0.1, 1, 10])
    assert {j["status"] for j in jobs} == {"finished"} and "4 finished (4 without a result)" in out
    for job in jobs:
        assert float(_printed(spaces[job["number"]]).strip()) == pytest.approx(job["config"]["learning_rate"])


def test_documented_metric_sweep_minimizes_val_loss_from_event_files(sweep):
    """docs/hyperparams.rst: `--hyperparam=lr=0.01:0.01:0.1 --metric=val_loss:min train.py 30`."""
    result, out, spaces = sweep("fashion-mnist", "--hyperparam=lr=0.01:0.01:0.1", "--metric=val_loss:min",
                                "--n-parallel", "2", "fashion_mnist.py", "30")
    jobs = result["jobs"]
    assert sorted(j["config"]["lr"] for j in jobs) == pytest.approx([i / 100 for i in range(1, 11)])
    assert {j["status"] for j in jobs} == {"finished"} and result["experiment"]["spec"]["target"] == "min"
    for job in jobs:
        space = spaces[job["number"]]
        assert f"learning rate = {job['config']['lr']}" in _printed(space)
        assert "no_epochs = 30" in _printed(space)
        assert (space / "logs" / "events.out.tfevents.1").is_file()
    # plain gradient descent over 30 epochs: the largest step gets the lowest loss, as in Studio.ml
    assert result["best"]["config"]["lr"] == pytest.approx(0.1)
    assert result["best"]["result"] == min(j["result"] for j in jobs)
    assert "no metric was found" not in out


def test_array_flag_with_an_optimizer_maximizes_fitness(sweep):
    """docs/hyperparams.rst's `[min]:[max]:{length}:{flags}` with flag a, on Studio.ml's test_array.py."""
    result, _, spaces = sweep("array", "--optimizer", "cmaes", "--n-samples", "4", "--seed", "0",
                              "--hyperparam=lr=0:1:10:a", "test_array.py")
    jobs = result["jobs"]
    assert [j["status"] for j in jobs] == ["finished"] * 4 and result["experiment"]["spec"]["target"] == "max"
    for job in jobs:
        values = [job["config"][f"lr[{i}]"] for i in range(10)]
        assert job["result"] == pytest.approx(abs(sum(values)))
    first = min(jobs, key=lambda j: j["number"])
    assert all(first["config"][f"lr[{i}]"] == 0.5 for i in range(10))  # starts in the middle, as Studio.ml
    assert result["best"]["result"] >= 5.0


def test_script_without_fitness_runs_for_its_files(sweep):
    """examples/general/train_linreg.py writes weights each step and prints no fitness."""
    result, out, spaces = sweep("linreg", "-hp", "learning_rate=1e-3:l3:1e-1", "train_linreg.py")
    jobs = result["jobs"]
    assert sorted(j["config"]["learning_rate"] for j in jobs) == pytest.approx([1e-3, 1e-2, 1e-1])
    assert [j["status"] for j in jobs] == ["finished"] * 3 and all(j["result"] is None for j in jobs)
    assert result["experiment"]["status"] == "finished" and out.count("no metric was found") == 1
    for job in jobs:
        weights = sorted((spaces[job["number"]] / "weights").glob("lr_w_*.json"))
        assert len(weights) == 10 and len(json.loads(weights[0].read_text())) == 5
    assert not (HERE / "linreg" / "weights").exists()
