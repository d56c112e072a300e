"""End to end: experiments with several objectives, run as a user runs them."""

from __future__ import annotations

import pytest

import tunelab.api as api
from tests.conftest import kill_9_then_resume, show, tunelab, write_experiment

SPACE = [{"name": "x", "type": "float", "range": [0, 1]}, {"name": "y", "type": "float", "range": [0, 1]}]
OBJECTIVES = [{"name": "accuracy", "target": "max"}, {"name": "latency_ms", "target": "min"}]

NAMED = """
from tunelab import trial
c = trial.load_config()
if c["y"] > 0.8:
    trial.report(accuracy=c["x"], latency_ms=float("nan"))
else:
    trial.report({"accuracy": c["x"] * (1 - c["y"]), "latency_ms": 10 * c["x"] + c["y"], "size": 3})
"""

AUPTIMIZER = """
import json, sys
c = json.load(open(sys.argv[1]))
print(f"#Auptimizer:{c['x'] * (1 - c['y'])},{10 * c['x'] + c['y']}")
"""

NNI = """
import tunelab.compat.nni as nni
c = nni.get_next_parameter()
nni.report_final_result({"accuracy": c["x"] * (1 - c["y"]), "latency_ms": 10 * c["x"] + c["y"]})
"""

MISSING = """
from tunelab import trial
trial.report(accuracy=0.5)
"""


def brute_front(jobs: list[dict]) -> list[int]:
    """Job ids no other finished job beats in both objectives (accuracy max, latency min)."""
    done = [j for j in jobs if j["status"] == "finished"]

    def beats(a: dict, b: dict) -> bool:
        (acc_a, lat_a), (acc_b, lat_b) = (
            (j["objectives"]["accuracy"], j["objectives"]["latency_ms"]) for j in (a, b))
        return acc_a >= acc_b and lat_a <= lat_b and (acc_a > acc_b or lat_a < lat_b)

    return sorted(j["id"] for j in done if not any(beats(o, j) for o in done))


def test_two_objectives_run_show_and_export(workdir, storage_url, script):
    script(NAMED)
    exp = write_experiment(workdir, name="mo", script="train.py", n_samples=12, n_parallel=2, random_seed=1,
                           parameter_config=SPACE, objectives=OBJECTIVES, job_failure={"ignore_fail": True})
    out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    assert "on the Pareto front" in out.stdout
    data = show("mo", storage_url)
    jobs = data["jobs"]
    failed = [j for j in jobs if j["status"] == "failed"]
    assert failed and all("objective 'latency_ms' is nan" in j["error"] for j in failed)
    for job in jobs:
        if job["status"] == "finished":
            x, y = job["config"]["x"], job["config"]["y"]
            assert job["objectives"] == pytest.approx({"accuracy": x * (1 - y), "latency_ms": 10 * x + y})
            assert job["result"] == pytest.approx(x * (1 - y)) and job["extra_results"] == {"size": 3.0}
    front = brute_front(jobs)
    assert data["pareto_front"] == front and front
    assert [j["id"] for j in jobs if j["pareto"]] == front
    assert data["best"] is None
    text = tunelab("show", "mo", "--storage", storage_url).stdout
    assert f"Pareto front: {len(front)} jobs" in text and "accuracy (max), latency_ms (min)" in text
    header, *rows = tunelab("export", "mo", "--storage", storage_url).stdout.strip().splitlines()
    columns = header.split(",")
    assert {"pareto", "accuracy", "latency_ms", "size"} <= set(columns)
    marked = [int(r.split(",")[0]) for r in rows if r.split(",")[columns.index("pareto")] == "True"]
    assert marked == front
    frame = api.load("mo", storage=storage_url).dataframe()
    assert list(frame.loc[frame["pareto"], "job_id"]) == front
    assert [j.id for j in api.load("mo", storage=storage_url).front] == front


@pytest.mark.parametrize("body", [AUPTIMIZER, NNI], ids=["auptimizer-line", "nni-dict"])
def test_objectives_from_other_report_styles(workdir, storage_url, script, body):
    script(body)
    exp = write_experiment(workdir, name="styles", script="train.py", n_samples=3, random_seed=2, proposer="random",
                           parameter_config=SPACE, objectives=OBJECTIVES,
                           resource_args={"multi_res_labels": ["latency_ms"]})
    assert tunelab("run", str(exp), "--storage", storage_url).returncode == 0
    for job in show("styles", storage_url)["jobs"]:
        x, y = job["config"]["x"], job["config"]["y"]
        assert job["status"] == "finished", job["error"]
        assert job["objectives"] == pytest.approx({"accuracy": x * (1 - y), "latency_ms": 10 * x + y})


def test_a_missing_objective_fails_the_job_with_its_reason(workdir, storage_url, script):
    script(MISSING)
    exp = write_experiment(workdir, name="missing", script="train.py", n_samples=2, parameter_config=SPACE,
                           objectives=OBJECTIVES, job_failure={"ignore_fail": True})
    assert tunelab("run", str(exp), "--storage", storage_url).returncode == 0
    data = show("missing", storage_url)
    assert [j["status"] for j in data["jobs"]] == ["failed", "failed"]
    assert all("no value for objective 'latency_ms'" in j["error"] for j in data["jobs"])
    assert data["pareto_front"] == []


def returns_a_tuple(config: dict) -> tuple[float, float]:
    return config["x"] * (1 - config["y"]), 10 * config["x"] + config["y"]


def test_python_api_with_a_function_returning_a_tuple(workdir, storage_url):
    spec = {"name": "tuple", "parameter_config": SPACE, "objectives": OBJECTIVES, "n_samples": 12,
            "random_seed": 3}
    result = api.run(spec, storage=storage_url, objective=returns_a_tuple)
    assert all(j.status == "finished" for j in result.jobs)
    data = result.to_dict()
    assert [j.id for j in result.front] == brute_front(data["jobs"]) == data["pareto_front"]
    assert all(j.info.get("via") in ("motpe", None) or j.info.get("initial") for j in result.jobs)


SLOW = """
import json, sys, time
from tunelab import trial
c = trial.load_config()
time.sleep(0.3)
with open("runs.log", "a") as f:
    f.write(json.dumps(c) + "\\n")
trial.report(accuracy=c["x"] * (1 - c["y"]), latency_ms=10 * c["x"] + c["y"])
"""


def test_kill_9_then_resume_keeps_the_front_and_repeats_the_serial_search(workdir, storage_url, script):
    script(SLOW)
    spec = dict(script="train.py", n_samples=10, random_seed=4, parameter_config=SPACE, objectives=OBJECTIVES,
                proposer_args={"n_startup_jobs": 4})
    exp = write_experiment(workdir, name="crash", proposer="motpe", **spec)
    before = kill_9_then_resume(exp, storage_url, "crash", 5)
    after = show("crash", storage_url)
    jobs = after["jobs"]
    assert after["experiment"]["status"] == "finished" and len(jobs) == 10
    for job_id, job in before.items():
        assert next(j for j in jobs if j["id"] == job_id)["objectives"] == job["objectives"]
    assert after["pareto_front"] == brute_front(jobs)
    serial = write_experiment(workdir, filename="serial.json", name="serial", proposer="motpe", **spec)
    assert tunelab("run", str(serial), "--storage", storage_url).returncode == 0
    assert [j["config"] for j in show("serial", storage_url)["jobs"]] == [j["config"] for j in jobs]


BAD = {
    "one objective": ([{"name": "accuracy", "target": "max"}], {}, "objectives: expected at least 2 objectives"),
    "duplicate": ([{"name": "a"}, {"name": "a", "target": "max"}], {}, "'a' appears twice; rename one"),
    "target": ([{"name": "a", "target": "maximise"}, {"name": "b"}], {},
               "objectives[0].target: Input should be 'min' or 'max', got 'maximise'"),
    "not a list": ("accuracy", {}, "objectives: Input should be a valid list"),
    "save_model": (OBJECTIVES, {"resource_args": {"save_model": True}}, "with `objectives` the result is a Pareto"),
    "single-objective proposer": (OBJECTIVES, {"proposer": "tpe"},
                                  "proposer: 'tpe' optimizes one objective, but the experiment has 2 `objectives`"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_objectives_are_one_line_and_record_nothing(workdir, storage_url, case):
    objectives, more, expected = BAD[case]
    exp = write_experiment(workdir, name="bad", script="train.py", n_samples=2, parameter_config=SPACE,
                           objectives=objectives, **more)
    for command in (["run", str(exp), "--storage", storage_url], ["validate", str(exp)]):
        out = tunelab(*command)
        assert out.returncode == 2 and expected in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert "bad" not in tunelab("ls", "--storage", storage_url).stdout

