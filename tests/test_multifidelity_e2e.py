"""End to end: early stopping and multi-fidelity search on real scripts in real processes."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import kill_9_then_resume, show, tunelab, write_experiment

EPOCHS = """
import json, os, signal, sys, time
from tunelab import trial

def on_term(signum, frame):
    with open("sigterm.log", "a") as log:
        log.write(os.environ["TUNELAB_JOB_ID"] + "\\n")
    sys.exit(0)

signal.signal(signal.SIGTERM, on_term)
config = trial.load_config()
epochs = int(config.get("n_iterations", 6))
state = os.path.join(trial.checkpoint_dir(), "state.json")
start = json.load(open(state))["epoch"] if os.path.exists(state) else 0
with open("epochs.log", "a") as log:
    log.write(json.dumps({"x": config["x"], "from": start, "to": epochs}) + "\\n")
loss = None
for epoch in range(start, epochs):
    time.sleep(float(os.environ.get("EPOCH_SECONDS", "0.05")))
    loss = (config["x"] - 1) ** 2 + 1.0 / (epoch + 1)
    json.dump({"epoch": epoch + 1}, open(state, "w"))
    trial.report_intermediate(loss, step=epoch + 1)
trial.report(loss if loss is not None else (config["x"] - 1) ** 2 + 1.0 / epochs)
"""

SPACE = [{"name": "x", "type": "float", "range": [-4, 4]}]


def test_a_running_script_is_stopped_by_sigterm_and_recorded_as_stopped(workdir, storage_url, script):
    script(EPOCHS.replace("signal.signal(signal.SIGTERM, on_term)", "signal.signal(signal.SIGTERM, on_term)\n"
                          "trial.report_intermediate = lambda value, step: trial._emit("
                          "trial.protocol.Report('intermediate', value=value, step=step)) or False"))
    exp = write_experiment(workdir, name="stop", script="train.py", n_samples=8, n_parallel=2, random_seed=3,
                           parameter_config=SPACE, initial_configs=[{"x": 1.0}, {"x": 1.2}],
                           runtime_args={"grace_period": 0.5, "env": {"EPOCH_SECONDS": "0.3"}},
                           resource_args={"early_stop": {"name": "median", "n_startup_jobs": 2}})
    out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    jobs = show("stop", storage_url)["jobs"]
    stopped = [j for j in jobs if j["status"] == "stopped"]
    assert stopped, [j["status"] for j in jobs]
    terminated = (workdir / "sigterm.log").read_text().split()
    # A job told to stop at its last report may end before the signal: it keeps its final value.
    at_last_step = [j for j in stopped if len(j["intermediate"]) == 6]
    assert len(at_last_step) < len(stopped)
    for job in stopped:
        assert job["attempts"][-1]["status"] == "stopped"
        if job in at_last_step:
            assert job["result"] == pytest.approx(job["intermediate"][-1][1])
        else:
            assert str(job["id"]) in terminated
            assert job["intermediate"]
    assert all(j["status"] in ("finished", "stopped") for j in jobs)


def test_cooperative_script_stops_at_should_stop_without_a_signal(workdir, storage_url, script):
    script(EPOCHS.replace("    trial.report_intermediate(loss, step=epoch + 1)",
                          "    if trial.report_intermediate(loss, step=epoch + 1):\n        break"))
    exp = write_experiment(workdir, name="coop", script="train.py", n_samples=8, n_parallel=2, random_seed=3,
                           parameter_config=SPACE, initial_configs=[{"x": 1.0}, {"x": 1.1}],
                           runtime_args={"grace_period": 30, "env": {"EPOCH_SECONDS": "0.1"}},
                           resource_args={"early_stop": {"aup_policy": "median", "aup_policy_steps": 1}})
    start = time.monotonic()
    assert tunelab("run", str(exp), "--storage", storage_url).returncode == 0
    assert time.monotonic() - start < 25, "a stopped job waited for the grace period"
    jobs = show("coop", storage_url)["jobs"]
    assert any(j["status"] == "stopped" for j in jobs)
    assert not (workdir / "sigterm.log").exists()


@pytest.mark.parametrize(("proposer", "args"), [
    ("hyperband", {"max_iter": 9, "eta": 3, "iterations": 1}),
    ("asha", {"min_budget": 1, "max_budget": 9, "eta": 3}),
])
def test_multifidelity_resumes_after_kill_9_without_losing_a_rung(workdir, storage_url, script, proposer, args):
    script(EPOCHS)
    extra = {} if proposer == "hyperband" else {"n_samples": 16}
    exp = write_experiment(workdir, name="mf", script="train.py", n_parallel=2, random_seed=2, proposer=proposer,
                           proposer_args=args, parameter_config=SPACE, **extra)
    before = kill_9_then_resume(exp, storage_url, "mf", 5)
    data = show("mf", storage_url)
    assert data["experiment"]["status"] == "finished"
    jobs = data["jobs"]
    for job_id, job in before.items():
        again = next(j for j in jobs if j["id"] == job_id)
        assert (again["status"], again["result"], again["budget"]) == ("finished", job["result"], job["budget"])
    budgets = sorted({j["budget"] for j in jobs})
    assert budgets == [1.0, 3.0, 9.0]
    promoted = [j for j in jobs if j["info"].get("rung", 0) > 0]
    assert promoted, "no configuration was promoted"
    for job in promoted:
        lower = [j for j in jobs if j["info"].get("config_id") == job["info"]["config_id"]
                 and j["budget"] < job["budget"]]
        assert lower and all(j["status"] == "finished" for j in lower), "promoted without finishing the rung below"
        assert all(j["config"] == job["config"] for j in lower)
    runs = [json.loads(line) for line in (workdir / "epochs.log").read_text().splitlines()]
    continued = [r for r in runs if r["from"] > 0]
    assert continued, "promoted configurations retrained from zero instead of their checkpoint"
    if proposer == "hyperband":
        assert sum(j["budget"] == 1.0 for j in jobs) == 9


def test_hyperband_goes_on_after_failures_with_ignore_fail(workdir, storage_url, script):
    script(EPOCHS.replace("config = trial.load_config()",
                          "config = trial.load_config()\nif config['x'] > 2: sys.exit('diverged')"))
    exp = write_experiment(workdir, name="hbfail", script="train.py", n_parallel=2, random_seed=1,
                           proposer="hyperband", proposer_args={"max_iter": 9, "eta": 3, "iterations": 1},
                           parameter_config=SPACE, job_failure={"ignore_fail": True})
    out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    data = show("hbfail", storage_url)
    jobs = data["jobs"]
    failed = [j for j in jobs if j["status"] == "failed"]
    assert failed and all("diverged" in j["error"] for j in failed)
    assert all(j["config"]["x"] > 2 for j in failed)
    assert any(j["budget"] == 9.0 and j["status"] == "finished" for j in jobs)
    assert data["experiment"]["status"] == "finished"
