"""Auptimizer's own example experiments (SOURCES.md) run by `tunelab run`, started from the
example's folder as its README says, with only the `aup` import of their scripts
changed; each asserts what Auptimizer gives for the same run: job counts and statuses,
the values the script computes, the best, intermediate results, budgets, retries."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import show, tunelab

HERE = Path(__file__).resolve().parent / "experiments"


@pytest.fixture
def run(tmp_path: Path):
    """Copy one example folder and run one of its experiment files from inside it."""

    def start(folder: str, experiment: str, *flags: str) -> tuple[dict, subprocess.CompletedProcess]:
        work = Path(shutil.copytree(HERE / folder, tmp_path / folder))
        storage = f"sqlite:///{tmp_path / 'tunelab.db'}"
        out = tunelab("run", experiment, *flags, "--plain", "--storage", storage, cwd=work, timeout=240)
        assert "Traceback" not in out.stderr, out.stderr
        name = Path(json.loads((work / experiment).read_text())["name"]).stem
        return show(name, storage), out

    return start


def _rosenbrock(x: float, y: float) -> float:
    return (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x)


def _quad_min_lines(x: float) -> list[float]:
    """What quad_min.py prints for ``x``: ten results, the offset falling from 1.0 by 0.1."""
    lines, offset = [], 1.0
    for _ in range(10):
        lines.append(x * x * 2 + x * 4 + 5 + offset)
        offset -= 1.0 / 10
    return lines


def test_random_search_on_rosenbrock_with_aup_args(run):
    result, out = run("2dfunc_diff_opt", "experiment_random.json")
    assert out.returncode == 0, out.stderr
    jobs = result["jobs"]
    assert [job["status"] for job in jobs] == ["finished"] * 10  # n_samples 10
    for job in jobs:
        assert -5 <= job["config"]["x"] <= 5 and -5 <= job["config"]["y"] <= 5
        assert job["result"] == pytest.approx(_rosenbrock(job["config"]["x"], job["config"]["y"]))
    assert result["best"]["result"] == min(job["result"] for job in jobs)  # target min


def test_hyperband_runs_one_pass_of_brackets_with_budgets_in_the_config(run):
    result, out = run("2dfunc_diff_opt", "experiment_hyperband.json")
    assert out.returncode == 0, out.stderr
    jobs = result["jobs"]
    # max_iter 3, eta 3: bracket s=1 runs 3 configs at budget 1 and the best 1 at budget 3,
    # bracket s=0 runs 2 configs at budget 3; Auptimizer hands the budget over as n_iterations
    assert sorted(job["budget"] for job in jobs) == [1, 1, 1, 3, 3, 3]
    assert all(job["status"] == "finished" for job in jobs)
    first = sorted((job for job in jobs if job["budget"] == 1), key=lambda job: job["result"])
    promoted = [job for job in jobs if job["budget"] == 3 and job["config"] in [j["config"] for j in first]]
    assert [job["config"] for job in promoted] == [first[-1]["config"]]  # target max: the highest goes on
    assert result["best"]["result"] == max(job["result"] for job in jobs)


def test_extra_results_are_named_by_multi_res_labels(run):
    result, out = run("2dfunc_diff_mult_res", "exp_cpu.json", "--n-samples", "4")
    assert out.returncode == 0, out.stderr
    for job in result["jobs"]:
        x, y = job["config"]["x"], job["config"]["y"]
        assert job["result"] == pytest.approx(_rosenbrock(x, y))
        assert job["extra_results"] == pytest.approx({"x": x, "y": y})


def test_track_intermediate_results_records_every_printed_result(run):
    result, out = run("intermediate_results/quad_equation_min", "quad_min_random.json", "--n-samples", "4")
    assert out.returncode == 0, out.stderr
    jobs = result["jobs"]
    assert [job["status"] for job in jobs] == ["finished"] * 4
    for job in jobs:
        lines = _quad_min_lines(job["config"]["x"])
        assert [step for step, _ in job["intermediate"]] == list(range(1, 11))
        assert [value for _, value in job["intermediate"]] == pytest.approx(lines)
        assert job["result"] == pytest.approx(lines[-1])  # the last line is the result


def test_median_early_stopping_judges_jobs_from_their_printed_results(run):
    result, out = run("early_stopping/quad_equation_min", "quad_min_random_median.json", "--n-samples", "4")
    assert out.returncode == 0, out.stderr
    jobs = result["jobs"]
    assert len(jobs) == 4 and {job["status"] for job in jobs} <= {"finished", "stopped"}
    for job in jobs:  # the script prints its ten lines at once, so each curve is whole
        assert [value for _, value in job["intermediate"]] == pytest.approx(_quad_min_lines(job["config"]["x"]))
    finished = [job for job in jobs if job["status"] == "finished"]
    assert finished and result["best"]["result"] == min(job["result"] for job in finished)


def test_a_failure_stops_the_search_but_the_running_job_counts(run):
    result, out = run("job_failure_control", "experiment_test.json")
    # Auptimizer's README: the job with time=3 fails, the experiment stops, and the job
    # running beside it still ends: "Best job (...) with score 4.000000"
    assert out.returncode == 1
    jobs = sorted(result["jobs"], key=lambda job: job["config"]["time"])
    assert [(job["config"]["time"], job["status"]) for job in jobs] == [(1, "finished"), (2, "finished"),
                                                                        (3, "failed"), (4, "finished")]
    assert len(jobs[2]["attempts"]) == 1  # no job_failure block: no retry
    assert result["experiment"]["status"] == "failed" and result["best"]["result"] == 4


def test_retries_then_ignore_fail_goes_on(run):
    result, out = run("job_failure_control", "experiment_job_retries_ignore_fail.json", "--n-samples", "4")
    assert out.returncode == 0, out.stderr
    jobs = sorted(result["jobs"], key=lambda job: job["config"]["time"])
    assert [job["status"] for job in jobs] == ["finished", "finished", "failed", "finished"]
    assert [a["status"] for a in jobs[2]["attempts"]] == ["failed"] * 4  # job_retries 3
    assert result["best"]["result"] == 4  # target max
