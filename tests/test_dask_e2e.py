"""The same experiment on a real Dask LocalCluster of several worker processes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import show, tunelab, write_experiment

EPOCHS = """
import os, time
from tunelab import trial
config = trial.load_config()
for step in range(1, 6):
    time.sleep(0.4)
    if trial.report_intermediate((config["x"] - 1) ** 2 + 1.0 / step, step=step):
        break
trial.report((config["x"] - 1) ** 2)
"""

SPACE = [{"name": "x", "type": "float", "range": [-3, 3]}]
LOCAL = {"kind": "local", "n_workers": 3}


def test_cli_runs_on_a_local_cluster_with_live_reports_and_a_stopper(workdir, storage_url, script):
    script(EPOCHS)
    exp = write_experiment(workdir, name="onDask", script="train.py", n_samples=9, n_parallel=3, random_seed=1,
                           parameter_config=SPACE, resource="dask", initial_configs=[{"x": 1.0}, {"x": 1.1}],
                           runtime_args={"grace_period": 30},
                           resource_args={"cluster": LOCAL, "early_stop": {"name": "median", "n_startup_jobs": 2}})
    out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    jobs = show("onDask", storage_url)["jobs"]
    assert len(jobs) == 9 and all(j["status"] in ("finished", "stopped") for j in jobs)
    stopped = [j for j in jobs if j["status"] == "stopped"]
    assert stopped and all(len(j["intermediate"]) < 5 for j in stopped), "stop decisions reach the workers"
    hosts = {j["attempts"][-1]["host"] for j in jobs}
    assert all(" worker tcp://127.0.0.1:" in h for h in hosts)
    assert len(hosts) >= 2, "jobs should spread over the workers"
    for job in jobs:
        if job["status"] == "finished":
            assert job["result"] == pytest.approx((job["config"]["x"] - 1) ** 2)
            assert [s for s, _ in job["intermediate"]] == [1, 2, 3, 4, 5]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dask(*args: str) -> subprocess.Popen:
    """A real `dask scheduler` or `dask worker` process of this environment."""
    return subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_" + args[0], *args[1:]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def scheduler():
    port = _free_port()
    started = [_dask("scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0")]
    yield f"tcp://127.0.0.1:{port}", started
    for proc in started:
        proc.kill()
        proc.wait()


def _one_line_exit_2(out: subprocess.CompletedProcess, *words: str) -> None:
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr, out.stderr
    for word in words:
        assert word in out.stderr


def test_scheduler_address_from_the_cli_and_its_faults(workdir, storage_url, script, scheduler):
    address, started = scheduler
    script(EPOCHS.replace("0.4", "0.05"))
    exp = write_experiment(workdir, name="remote", script="train.py", n_samples=4, n_parallel=2, random_seed=1,
                           parameter_config=SPACE, resource_args={"worker_timeout": 3})
    begin = time.monotonic()
    out = tunelab("run", str(exp), "--storage", storage_url, "--scheduler", f"tcp://127.0.0.1:{_free_port()}")
    _one_line_exit_2(out, "resource_args.scheduler", "cannot reach the Dask scheduler")
    out = tunelab("run", str(exp), "--storage", storage_url, "--scheduler", address)
    _one_line_exit_2(out, "no Dask worker came up within resource_args.worker_timeout=3s")
    assert time.monotonic() - begin < 40
    assert "not found" in tunelab("show", "remote", "--storage", storage_url).stderr, "nothing recorded"
    started += [_dask("worker", address, "--nthreads", "1", "--no-dashboard") for _ in range(2)]
    out = tunelab("run", str(exp), "--storage", storage_url, "--scheduler", address)
    assert out.returncode == 0, out.stderr
    jobs = show("remote", storage_url)["jobs"]
    assert [j["status"] for j in jobs] == ["finished"] * 4
    assert all(" worker tcp://127.0.0.1:" in j["attempts"][0]["host"] for j in jobs)


@pytest.mark.parametrize(("resource_args", "words"), [
    ({}, "needs one of resource_args.scheduler"),
    ({"scheduler": "tcp://x:1", "cluster": {"kind": "local"}}, "not both"),
    ({"cluster": {"kind": "kubernetes"}}, "resource_args.cluster: kind must be one of local, ssh, slurm"),
])
def test_bad_dask_placement_is_one_line(workdir, storage_url, script, resource_args, words):
    script(EPOCHS)
    exp = write_experiment(workdir, name="bad", script="train.py", n_samples=1, parameter_config=SPACE,
                           resource="dask", resource_args=resource_args)
    _one_line_exit_2(tunelab("run", str(exp), "--storage", storage_url), words)
