"""End to end: real scripts in real processes against real SQLite files."""

from __future__ import annotations

import json
import math
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import kill_9_then_resume, show, start_run, tunelab, wait_finished, write_experiment

QUAD = """
import json, sys
config = json.load(open(sys.argv[1]))
print(f"#Auptimizer:{(config['x'] - 1) ** 2}")
"""

SPACE = [{"name": "x", "type": "float", "range": [-3, 3]}]


def test_run_records_jobs_and_show_json_has_documented_shape(workdir, storage_url, script):
    script(QUAD)
    exp = write_experiment(workdir, name="quad", script="train.py", n_samples=6, n_parallel=2,
                           random_seed=0, parameter_config=SPACE)
    out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    assert "best config" in out.stdout
    data = show("quad", storage_url)
    assert set(data) >= {"experiment", "best", "jobs"}
    assert data["experiment"]["status"] == "finished"
    assert len(data["jobs"]) == 6 and all(j["status"] == "finished" for j in data["jobs"])
    for job in data["jobs"]:
        assert set(job) >= {"id", "status", "config", "result", "extra_results", "intermediate", "budget",
                            "error", "attempts"}
        assert job["result"] == pytest.approx((job["config"]["x"] - 1) ** 2)
        assert job["budget"] is None
        (attempt,) = job["attempts"]
        assert set(attempt) >= {"number", "status", "error", "resource", "started", "ended"}
        assert attempt["ended"] >= attempt["started"]
        assert Path(attempt["folder"], "stdout").read_text().startswith("#Auptimizer:")
    best = min(data["jobs"], key=lambda j: j["result"])
    assert data["best"]["config"] == best["config"]


def test_default_storage_is_in_dot_tunelab_of_the_working_directory(workdir, script):
    script(QUAD)
    exp = write_experiment(workdir, name="here", script="train.py", n_samples=2, parameter_config=SPACE)
    assert tunelab("run", str(exp), cwd=workdir).returncode == 0
    assert (workdir / ".tunelab" / "tunelab.db").is_file()
    listing = tunelab("ls", cwd=workdir)
    assert "here" in listing.stdout
    env_db = f"sqlite:///{workdir / 'other.db'}"
    assert tunelab("run", str(exp), cwd=workdir, env={"TUNELAB_STORAGE": env_db}).returncode == 0
    assert (workdir / "other.db").is_file()


@pytest.mark.parametrize(("body", "reason"), [
    ("import sys\nprint('boom', file=sys.stderr)\nsys.exit(3)\n", "exit code 3: boom"),
    ("print('all done, but no number')\n", "no result"),
    ("print('#Auptimizer:nan')\n", "not a finite number"),
    ("print('#Auptimizer:banana')\n", "bad report"),
    ("raise RuntimeError('kaput')\n", "RuntimeError: kaput"),
])
def test_bad_script_output_is_a_failed_job_with_its_reason(workdir, storage_url, script, body, reason):
    script(body)
    exp = write_experiment(workdir, name="bad", script="train.py", n_samples=3, parameter_config=SPACE,
                           job_failure={"ignore_fail": True})
    out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    data = show("bad", storage_url)
    assert data["experiment"]["status"] == "finished"
    assert [j["status"] for j in data["jobs"]] == ["failed"] * 3
    assert all(reason in j["error"] for j in data["jobs"]), [j["error"] for j in data["jobs"]]
    assert data["best"] is None


def test_failure_without_ignore_fail_stops_cleanly_and_names_the_job(workdir, storage_url, script):
    script("import sys\nprint('cuda out of memory', file=sys.stderr)\nsys.exit(1)\n")
    exp = write_experiment(workdir, name="stop", script="train.py", n_samples=5, parameter_config=SPACE)
    out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 1
    assert "failed" in out.stdout and "cuda out of memory" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr
    data = show("stop", storage_url)
    assert data["experiment"]["status"] == "failed"
    assert data["jobs"][0]["status"] == "failed"


def test_hung_job_is_killed_at_job_timeout_with_its_process_group(workdir, storage_url, script):
    script("""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open("child.pid", "w").write(str(child.pid))
        time.sleep(60)
    """)
    exp = write_experiment(workdir, name="hang", script="train.py", n_samples=1, parameter_config=SPACE,
                           job_timeout=1.5, job_failure={"ignore_fail": True})
    start = time.monotonic()
    out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    assert time.monotonic() - start < 20
    job = show("hang", storage_url)["jobs"][0]
    assert job["status"] == "failed" and "timeout" in job["error"]
    child = int((workdir / "child.pid").read_text())
    end = time.monotonic() + 5
    while _alive(child) and time.monotonic() < end:
        time.sleep(0.1)
    assert not _alive(child), "the job's child process outlived the timeout"


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped is dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_retries_make_new_attempts_until_success(workdir, storage_url, script):
    script("""
        import json, os, sys
        config = json.load(open(sys.argv[1]))
        marker = f"tried-{config['x']}"
        if not os.path.exists(marker):
            open(marker, "w").close()
            sys.exit("first attempt fails")
        print(f"#Auptimizer:{config['x']}")
    """)
    exp = write_experiment(workdir, name="retry", script="train.py", n_samples=1, n_parallel=2,
                           parameter_config=SPACE, job_failure={"job_retries": 1})
    out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    for job in show("retry", storage_url)["jobs"]:
        assert job["status"] == "finished"
        assert [a["status"] for a in job["attempts"]] == ["failed", "finished"]
        assert "first attempt fails" in job["attempts"][0]["error"]
        assert job["attempts"][0]["resource"] != job["attempts"][1]["resource"]


def test_gpu_ids_are_handed_out_through_cuda_visible_devices(workdir, storage_url, script):
    script("""
        import os, time
        from tunelab import trial
        time.sleep(0.3)
        trial.report(1.0, gpu=float(os.environ["CUDA_VISIBLE_DEVICES"]))
    """)
    exp = write_experiment(workdir, name="gpu", script="train.py", n_samples=6, n_parallel=3, resource="gpu",
                           resource_args={"gpus": [0, 1, 1]}, parameter_config=SPACE)
    assert tunelab("run", str(exp), "--storage", storage_url).returncode == 0
    jobs = show("gpu", storage_url)["jobs"]
    for job in jobs:
        (attempt,) = job["attempts"]
        assert attempt["resource"]["gpus"] == [int(job["extra_results"]["gpu"])]
    assert {j["extra_results"]["gpu"] for j in jobs} == {0.0, 1.0}


def test_command_placeholders_expand_inside_argv_elements(workdir, storage_url, script):
    script("""
        import argparse, json
        parser = argparse.ArgumentParser()
        parser.add_argument("--x", type=float)
        parser.add_argument("--name")
        parser.add_argument("config")
        args = parser.parse_args()
        assert json.load(open(args.config))["x"] == args.x
        print(f"#Auptimizer:{args.x},{len(args.name)}")
    """)
    exp = write_experiment(workdir, name="cmd", command=[sys.executable, "train.py", "--x={x}", "--name",
                                                          "a b; rm -rf {x}", "{config}"],
                           n_samples=2, parameter_config=SPACE, resource_args={"multi_res_labels": ["n"]})
    out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    for job in show("cmd", storage_url)["jobs"]:
        assert job["result"] == pytest.approx(job["config"]["x"])
        assert job["extra_results"]["n"] == len(f"a b; rm -rf {job['config']['x']}")


def test_intermediate_and_extra_results_are_recorded(workdir, storage_url, script):
    script("""
        from tunelab import trial
        config = trial.load_config()
        for step in range(3):
            trial.report_intermediate(config["x"] + step, step=step)
        trial.report(config["x"], accuracy=0.5)
    """)
    exp = write_experiment(workdir, name="inter", script="train.py", n_samples=2, parameter_config=SPACE)
    assert tunelab("run", str(exp), "--storage", storage_url).returncode == 0
    for job in show("inter", storage_url)["jobs"]:
        x = job["config"]["x"]
        assert job["intermediate"] == [[0, pytest.approx(x)], [1, pytest.approx(x + 1)], [2, pytest.approx(x + 2)]]
        assert job["extra_results"] == {"accuracy": 0.5}


SLOW = """
import json, os, sys, time
config = json.load(open(sys.argv[1]))
with open("runs.log", "a") as log:
    log.write(json.dumps(config) + "\\n")
time.sleep(0.8)
print(f"#Auptimizer:{(config['x'] - 1) ** 2}")
"""


@pytest.mark.parametrize("proposer", ["random", "sequence", "batch"])
def test_kill_9_then_resume_loses_nothing_and_reruns_nothing(workdir, storage_url, script, proposer):
    script(SLOW)
    extra = {"configs": [{"x": x / 4} for x in range(-8, 8)]} if proposer == "batch" else {}
    space = [{"name": "x", "type": "float", "range": [-2, 2], "n": 16}]
    exp = write_experiment(workdir, name="crash", script="train.py", n_samples=10, n_parallel=2, random_seed=5,
                           proposer=proposer, parameter_config=space, **extra)
    before = kill_9_then_resume(exp, storage_url, "crash", 3)
    after = show("crash", storage_url)
    assert after["experiment"]["status"] == "finished"
    jobs = after["jobs"]
    assert len(jobs) == 10 and all(j["status"] == "finished" for j in jobs)
    for job_id, job in before.items():
        assert next(j for j in jobs if j["id"] == job_id)["result"] == job["result"]
    runs = [json.loads(line)["x"] for line in (workdir / "runs.log").read_text().splitlines()]
    finished_before = [j["config"]["x"] for j in before.values()]
    assert all(runs.count(x) == 1 for x in finished_before), "a finished job ran twice"
    serial_exp = write_experiment(workdir, filename="serial.json", **{**json.loads(exp.read_text()), "name": "serial"})
    assert tunelab("run", str(serial_exp), "--storage", storage_url).returncode == 0
    serial = [j["config"] for j in show("serial", storage_url)["jobs"]]
    assert sorted(json.dumps(j["config"]) for j in jobs) == sorted(json.dumps(c) for c in serial)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupt_stops_cleanly_and_resume_finishes(workdir, storage_url, script, stop):
    script(SLOW)
    exp = write_experiment(workdir, name="intr", script="train.py", n_samples=12, n_parallel=2,
                           parameter_config=SPACE)
    proc = start_run(exp, storage_url, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_finished(storage_url, "intr", 2, proc)
    proc.send_signal(stop)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    data = show("intr", storage_url)
    assert data["experiment"]["status"] == "interrupted"
    assert not [j for j in data["jobs"] if j["status"] == "running"]
    out = tunelab("resume", "intr", "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    jobs = show("intr", storage_url)["jobs"]
    assert len(jobs) == 12 and all(j["status"] == "finished" for j in jobs)


INSTANT = "def square(config):\n    return config['x'] ** 2\n"


def test_ctrl_c_amid_a_stream_of_instant_jobs_leaves_no_job_running(workdir, storage_url, script):
    """Jobs end every few milliseconds, so the signal mostly finds the engine recording one:
    each try must still exit 130 with every attempt recorded or cancelled (before the
    engine deferred interrupts to the top of its loop, 6 tries in 15 left a job running
    or ended in a traceback)."""
    script(INSTANT, name="objective.py")
    for attempt in range(4):
        name = f"stream{attempt}"
        exp = write_experiment(workdir, f"{name}.json", name=name, function="objective:square",
                               n_samples=100000, n_parallel=2, proposer="random", parameter_config=SPACE)
        proc = start_run(exp, storage_url, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_finished(storage_url, name, 50, proc)
        delay = random.uniform(0.0, 0.5)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 130 and "Traceback" not in stderr, f"Ctrl-C {delay:.3f}s later: {stderr}"
        jobs = show(name, storage_url)["jobs"]
        assert not [j["id"] for j in jobs if j["status"] == "running"], f"Ctrl-C {delay:.3f}s later"


def test_grid_batch_and_initial_configs(workdir, storage_url, script):
    script(QUAD)
    grid = write_experiment(workdir, filename="grid.json", script="train.py", proposer="sequence",
                            parameter_config=[{"name": "x", "type": "float", "range": [0, 1], "interval": 0.25}])
    assert tunelab("run", str(grid), "--storage", storage_url).returncode == 0
    xs = [j["config"]["x"] for j in show("grid", storage_url)["jobs"]]
    assert xs == [0.0, 0.25, 0.5, 0.75, 1.0]
    first = write_experiment(workdir, filename="first.json", script="train.py", n_samples=4,
                             parameter_config=SPACE, initial_configs=[{"x": 1.0}, {"x": -1.0}])
    assert tunelab("run", str(first), "--storage", storage_url).returncode == 0
    jobs = show("first", storage_url)["jobs"]
    assert [j["config"]["x"] for j in jobs[:2]] == [1.0, -1.0]
    assert show("first", storage_url)["best"]["result"] == 0.0


def test_yaml_and_toml_files_run(workdir, storage_url, script):
    script(QUAD)
    (workdir / "e.yaml").write_text(
        "name: yml\nscript: train.py\nn_samples: 2\nparameter_config:\n  - {name: x, type: float, range: [-1, 1]}\n")
    (workdir / "e.toml").write_text(
        'name = "tml"\nscript = "train.py"\nn_samples = 2\n[[parameter_config]]\nname = "x"\ntype = "float"\n'
        "range = [-1, 1]\n")
    for name, path in (("yml", "e.yaml"), ("tml", "e.toml")):
        assert tunelab("run", path, "--storage", storage_url).returncode == 0
        assert len(show(name, storage_url)["jobs"]) == 2


def test_save_model_reruns_the_best_config_into_a_known_folder(workdir, storage_url, script):
    script("""
        import os
        from tunelab import trial
        config = trial.load_config()
        if config.get("save_model"):
            with open(os.path.join(config["folder_name"], "model.json"), "w") as f:
                f.write(str(config["x"]))
            assert trial.model_dir() == config["folder_name"]
        trial.report((config["x"] - 1) ** 2)
    """)
    exp = write_experiment(workdir, name="model", script="train.py", n_samples=4, parameter_config=SPACE,
                           resource_args={"save_model": True})
    out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    data = show("model", storage_url)
    model = Path(data["model_dir"], "model.json")
    assert float(model.read_text()) == data["best"]["config"]["x"]
    assert data["model_dir"] in tunelab("show", "model", "--storage", storage_url).stdout
    assert "model saved in" in out.stdout


def test_equal_results_save_the_model_of_the_job_shown_as_best(workdir, storage_url, script):
    """Job 1 finishes after job 2 with the same value: the earlier job is the best everywhere."""
    script("""
        import os, time
        from tunelab import trial
        config = trial.load_config()
        if config.get("save_model"):
            with open(os.path.join(config["folder_name"], "model.json"), "w") as f:
                f.write(str(config["x"]))
        elif config["x"] == 0:
            time.sleep(2)
        trial.report(0.5)
    """)
    exp = write_experiment(workdir, name="tie", script="train.py", n_samples=2, n_parallel=2, proposer="grid",
                           parameter_config=[{"name": "x", "type": "choice", "range": [0, 1]}],
                           resource_args={"save_model": True})
    assert tunelab("run", str(exp), "--storage", storage_url).returncode == 0
    data = show("tie", storage_url)
    assert data["best"]["config"]["x"] == 0
    assert Path(data["model_dir"], "model.json").read_text() == "0"


def test_passive_resource_takes_scores_from_tunelab_report(workdir, storage_url):
    exp = write_experiment(workdir, name="pass", resource="passive", n_samples=2, parameter_config=SPACE)
    proc = start_run(exp, storage_url, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                     text=True)
    reported = 0
    end = time.monotonic() + 60
    while reported < 2 and time.monotonic() < end:
        out = tunelab("show", "pass", "--json", "--storage", storage_url)
        if out.returncode == 0:
            for job in json.loads(out.stdout)["jobs"]:
                if job["status"] == "running":
                    done = tunelab("report", "pass", "--storage", storage_url, str(job["id"]), "--",
                                   str(job["config"]["x"] * 2))
                    assert done.returncode == 0, done.stderr
                    reported += 1
        time.sleep(0.3)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "tunelab report pass" in stdout
    for job in show("pass", storage_url)["jobs"]:
        assert job["result"] == pytest.approx(job["config"]["x"] * 2)


def test_export_csv_json_and_dataframe(workdir, storage_url, script):
    script(QUAD)
    exp = write_experiment(workdir, name="exp", script="train.py", n_samples=3, parameter_config=SPACE)
    assert tunelab("run", str(exp), "--storage", storage_url).returncode == 0
    csv_text = tunelab("export", "exp", "--format", "csv", "--storage", storage_url).stdout
    header, *rows = csv_text.strip().splitlines()
    assert header.split(",")[:5] == ["job_id", "number", "status", "value", "budget"] and len(rows) == 3
    out = workdir / "out.json"
    assert tunelab("export", "exp", "--format", "json", "-o", str(out), "--storage", storage_url).returncode == 0
    assert len(json.loads(out.read_text())["jobs"]) == 3
    import tunelab.api as api

    frame = api.load("exp", storage=storage_url).dataframe()
    assert list(frame["status"]) == ["finished"] * 3
    assert all(math.isclose(v, (x - 1) ** 2) for v, x in zip(frame["value"], frame["x"]))


SOMETIMES = """
import json, sys
config = json.load(open(sys.argv[1]))
if config["x"] == 3:
    sys.exit(4)
if config["x"] == 2:
    print(f"#Auptimizer:{config['x']}")
"""


@pytest.mark.parametrize("require_result", [True, False])
def test_require_result_false_finishes_clean_exits_without_a_report(workdir, storage_url, script, require_result):
    script(SOMETIMES)
    exp = write_experiment(workdir, name="optional", script="train.py", proposer="sequence",
                           parameter_config=[{"name": "x", "type": "ordinal", "range": [1, 2, 3]}],
                           require_result=require_result, job_failure={"ignore_fail": True})
    out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    data = show("optional", storage_url)
    jobs = {j["config"]["x"]: j for j in data["jobs"]}
    assert jobs[2]["status"] == "finished" and jobs[2]["result"] == 2 and data["best"]["config"] == {"x": 2}
    assert jobs[3]["status"] == "failed" and "exit code 4" in jobs[3]["error"]  # a crash still fails
    if require_result:
        assert jobs[1]["status"] == "failed" and jobs[1]["error"].startswith("no result")
        assert "1 finished, 2 failed" in out.stdout
    else:
        assert jobs[1]["status"] == "finished" and jobs[1]["result"] is None and not jobs[1]["error"]
        assert "2 finished (1 without a result), 1 failed" in out.stdout
