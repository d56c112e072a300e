"""Without ``ignore_fail``, a failure stops the proposing but the running jobs end and are
recorded, then the run reports the best and exits non-zero (Auptimizer's behaviour);
``job_timeout`` bounds the wait and Ctrl-C still stops at once. Real processes, real CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from tests.conftest import show, start_run, tunelab, write

# Job x=0 fails at once; x=1 runs on in the other slot and reports after `slow` seconds.
_SCRIPT = """
    import json, sys, time
    x = json.load(open(sys.argv[1]))["x"]
    if x == 0:
        sys.exit("broken for x=0")
    time.sleep({slow})
    print(f"#Auptimizer:{{10 - x}}", flush=True)
"""


def _experiment(workdir: Path, slow: float, **keys: object) -> Path:
    write(workdir / "train.py", _SCRIPT.format(slow=slow))
    path = workdir / "exp.json"
    path.write_text(json.dumps({
        "name": "./exp.json", "script": "train.py", "resource": "cpu", "n_parallel": 2, "target": "max",
        "proposer": "sequence", "n_samples": 6, "parameter_config": [{"name": "x", "range": [0, 5], "type": "int"}],
        **keys}))
    return path


def _jobs(storage_url: str) -> list[dict]:
    return sorted(show("exp", storage_url)["jobs"], key=lambda job: job["config"]["x"])


def test_running_jobs_finish_and_count_after_a_failure(workdir: Path, storage_url: str) -> None:
    out = tunelab("run", str(_experiment(workdir, 1.5)), "--storage", storage_url, "--plain", cwd=workdir)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    jobs = _jobs(storage_url)
    assert [(job["config"]["x"], job["status"], job["result"]) for job in jobs] == [(0, "failed", None),
                                                                                     (1, "finished", 9)]
    assert "broken for x=0" in jobs[0]["error"]
    data = show("exp", storage_url)
    assert data["experiment"]["status"] == "failed" and data["best"]["result"] == 9
    assert "best config: {'x': 1}" in out.stdout


def test_an_explicit_job_failure_block_retries_three_times_before_stopping(workdir: Path, storage_url: str) -> None:
    experiment = _experiment(workdir, 0.2, job_failure={"ignore_fail": False})
    out = tunelab("run", str(experiment), "--storage", storage_url, "--plain", cwd=workdir)
    assert out.returncode == 1, out.stderr
    failed = _jobs(storage_url)[0]
    assert failed["status"] == "failed" and len(failed["attempts"]) == 4  # Auptimizer's code: job_retries 3


def test_job_timeout_bounds_the_wait(workdir: Path, storage_url: str) -> None:
    start = time.monotonic()
    out = tunelab("run", str(_experiment(workdir, 60, job_timeout=2)), "--storage", storage_url, "--plain",
                  cwd=workdir)
    assert out.returncode == 1 and time.monotonic() - start < 30
    jobs = _jobs(storage_url)
    assert [job["status"] for job in jobs] == ["failed", "failed"]
    assert jobs[1]["error"].startswith("timeout: killed after job_timeout=2s")


def test_ctrl_c_while_waiting_stops_at_once(workdir: Path, storage_url: str) -> None:
    proc = start_run(_experiment(workdir, 60), storage_url, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        out = tunelab("show", "exp", "--json", "--storage", storage_url)
        if out.returncode == 0 and any(job["status"] == "failed" for job in json.loads(out.stdout)["jobs"]):
            break
        time.sleep(0.2)
    time.sleep(0.5)
    assert proc.poll() is None, "the run did not wait for the running job"
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=20)
    jobs = _jobs(storage_url)
    assert jobs[0]["status"] == "failed"
    assert jobs[1]["status"] != "finished" and jobs[1]["attempts"][-1]["status"] == "cancelled"
