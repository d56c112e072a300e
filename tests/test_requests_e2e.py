"""Requests to a running engine through the storage inbox: ``tunelab stop`` for the whole
experiment (drain or cancel) and for one job, and one live engine per experiment."""

from __future__ import annotations

import json
import subprocess
import time

from tests.conftest import show, start_run, tunelab, wait_finished, write_experiment

SLEEPER = """
import json, sys, time
from tunelab import trial
config = trial.load_config()
for step in range(40):
    time.sleep(config["t"] / 40)
    if trial.report_intermediate(config["t"] * (step + 1), step=step):
        sys.exit(0)
trial.report(config["t"])
"""


def _start(workdir, script, storage_url, name, t, n_samples=12):
    script(SLEEPER)
    path = write_experiment(workdir, f"{name}.json", name=name, script="train.py", proposer="random",
                            n_samples=n_samples, n_parallel=2, target="min",
                            parameter_config=[{"name": "t", "type": "float", "range": [t, t * 1.01]}])
    return start_run(path, storage_url, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _running_jobs(storage_url, name, count, proc, limit=60):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        out = tunelab("show", name, "--json", "--storage", storage_url)
        running = [j for j in json.loads(out.stdout)["jobs"] if j["status"] == "running"] if out.stdout else []
        if len(running) >= count:
            return running
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    raise AssertionError("jobs did not start")


def test_stop_lets_running_jobs_finish_then_resume_goes_on(workdir, script, storage_url):
    proc = _start(workdir, script, storage_url, "drain", 0.8)
    wait_finished(storage_url, "drain", 2, proc)
    out = tunelab("stop", "drain", "--storage", storage_url)
    assert out.returncode == 0 and "no new jobs; stopping when the 2 running jobs end" in out.stdout, out
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "stopped on request after the running jobs ended" in stdout
    stopped = show("drain", storage_url)
    assert stopped["experiment"]["status"] == "stopped"
    assert 2 < len(stopped["jobs"]) < 12 and all(j["status"] == "finished" for j in stopped["jobs"])
    out = tunelab("resume", "drain", "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    done = show("drain", storage_url)
    assert len(done["jobs"]) == 12 and all(j["status"] == "finished" for j in done["jobs"])
    assert done["experiment"]["status"] == "finished"


def test_stop_cancel_and_stop_one_job(workdir, script, storage_url):
    proc = _start(workdir, script, storage_url, "cut", 30.0)
    first, second = _running_jobs(storage_url, "cut", 2, proc)
    out = tunelab("stop", "cut", "--job", str(first["id"]), "--storage", storage_url)
    assert out.returncode == 0 and out.stdout.strip() == f"stopping job {first['id']}", out
    end = time.monotonic() + 30
    while show("cut", storage_url)["jobs"][0]["status"] == "running" and time.monotonic() < end:
        time.sleep(0.2)
    job = {j["id"]: j for j in show("cut", storage_url)["jobs"]}[first["id"]]
    assert job["status"] == "stopped" and job["error"] == "stopped on request" and job["intermediate"]
    out = tunelab("stop", "cut", "--job", str(first["id"]), "--storage", storage_url)
    assert out.stdout.strip() == f"job {first['id']} is not running"
    out = tunelab("stop", "cut", "--cancel", "--storage", storage_url)
    assert out.returncode == 0 and "cancelling 2 running jobs" in out.stdout, out
    stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "stopped on request, running jobs cancelled" in stdout
    jobs = show("cut", storage_url)["jobs"]
    assert [j["status"] for j in jobs] == ["stopped", "pending", "pending"]
    assert jobs[1]["attempts"][-1]["error"] == "stopped on request"


def test_one_engine_per_experiment_and_no_engine_no_stop(workdir, script, storage_url):
    proc = _start(workdir, script, storage_url, "owned", 2.0, n_samples=8)
    _running_jobs(storage_url, "owned", 1, proc)
    out = tunelab("resume", "owned", "--storage", storage_url)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "is being run by another tunelab (pid" in out.stderr and "tunelab stop owned" in out.stderr
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert json.loads(tunelab("show", "owned", "--json", "--storage", storage_url).stdout)["experiment"][
        "status"] == "finished"
    out = tunelab("stop", "owned", "--storage", storage_url)
    assert out.returncode == 1 and out.stderr.strip() == "no engine is running 'owned' (status finished); nothing to stop"
    out = tunelab("stop", "owned", "--job", "999", "--storage", storage_url)
    assert out.returncode == 2 and "job 999 not found" in out.stderr


def test_report_scores_only_waiting_passive_jobs(workdir, script, storage_url):
    """`tunelab report` goes through the engine: a script's job keeps its own result, a bad
    value is refused before anything is sent, and with no engine nobody takes the score."""
    proc = _start(workdir, script, storage_url, "scripted", 30.0, n_samples=2)
    job, _ = _running_jobs(storage_url, "scripted", 2, proc)
    out = tunelab("report", "scripted", str(job["id"]), "0.5", "--storage", storage_url)
    assert out.returncode == 1 and "scores by hand are for resource passive" in out.stdout, out
    out = tunelab("report", "scripted", str(job["id"]), "nan", "--storage", storage_url)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "value: nan is not a score" in out.stderr, out
    assert tunelab("stop", "scripted", "--cancel", "--storage", storage_url).returncode == 0
    proc.communicate(timeout=30)
    assert all(j["result"] is None for j in show("scripted", storage_url)["jobs"])
    out = tunelab("report", "scripted", str(job["id"]), "0.5", "--storage", storage_url)
    assert out.returncode == 1 and out.stderr.strip().startswith("no engine is running 'scripted'"), out
