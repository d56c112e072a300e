"""NNI's `remote` machine list and Auptimizer's `node` resource on real SSH hosts: an sshd
started by the test on loopback, with keys made by the test; two loopback addresses stand
in for two machines."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import show, tunelab, write

SSHD = "/usr/sbin/sshd"
TRIAL = """
import os
from tunelab import trial
config = trial.load_config()
trial.report((config["x"] - 1) ** 2)
"""


@pytest.fixture
def sshd(tmp_path: Path):
    """A real sshd on 127.0.0.1 and 127.0.0.2 that lets this user in with a fresh key."""
    keys = tmp_path / "keys"
    keys.mkdir()
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)], check=True)
    (keys / "authorized_keys").write_text((keys / "client.pub").read_text())
    (keys / "authorized_keys").chmod(0o600)
    Path("/run/sshd").mkdir(exist_ok=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([SSHD, "-D", "-e", "-p", str(port), "-h", str(keys / "host"),
                             "-o", "ListenAddress=127.0.0.1", "-o", "ListenAddress=127.0.0.2",
                             "-o", f"AuthorizedKeysFile={keys / 'authorized_keys'}", "-o", "StrictModes=no",
                             "-o", "UsePAM=no", "-o", f"PidFile={tmp_path / 'sshd.pid'}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 10
    while socket.socket().connect_ex(("127.0.0.2", port)) != 0:
        assert time.monotonic() < end and proc.poll() is None, "sshd did not start"
        time.sleep(0.05)
    yield port, keys / "client"
    proc.kill()
    proc.wait()


def _nni_config(folder: Path, port: int, key: Path, **machine: str) -> Path:
    machines = "\n".join(
        f"    - {{host: {host}, port: {port}, user: {os.environ.get('USER', 'root')}, sshKeyFile: {key}, "
        f"pythonPath: {Path(sys.executable).parent}{''.join(f', {k}: {v}' for k, v in machine.items())}}}"
        for host in ("127.0.0.1", "127.0.0.2"))
    return write(folder / "config.yml", f"""
experimentName: remote
searchSpace:
  x: {{_type: uniform, _value: [0, 2]}}
trialCommand: {sys.executable} trial.py
trialCodeDirectory: .
trialConcurrency: 2
maxTrialNumber: 4
tuner: {{name: Random, classArgs: {{seed: 1}}}}
trainingService:
  platform: remote
  machineList:
{machines}
""")


def test_nni_remote_machine_list_runs_on_the_ssh_hosts(workdir, storage_url, sshd):
    port, key = sshd
    write(workdir / "trial.py", TRIAL)
    out = tunelab("run", str(_nni_config(workdir, port, key)), "--storage", storage_url)
    _assert_four_jobs_ran_on_both_hosts(out, "remote", storage_url)


def test_nni_remote_password_is_refused_with_a_line_about_keys(workdir, storage_url, sshd):
    port, key = sshd
    out = tunelab("run", str(_nni_config(workdir, port, key, password="secret")), "--storage", storage_url)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "trainingService.machineList[0].password" in out.stderr and "sshKeyFile" in out.stderr


def _aup_node_experiment(folder: Path, nodes: str, trial: str = TRIAL, **fields: int) -> Path:
    write(folder / "trial.py", trial)
    write(folder / "node.txt", nodes)
    return write(folder / "exp_node.json", json.dumps({
        "name": "./2dfunc_diff_res/exp_node.json", "workingdir": str(folder), "proposer": "random",
        "n_samples": 4, "random_seed": 1, "script": "trial.py", "resource": "node", "n_parallel": 2, "target": "min",
        "parameter_config": [{"name": "x", "range": [0, 2], "type": "float"}],
        "resource_args": {"max_retries": 2, "reconn_wait_time": 3, "nodes": "node.txt", "python": sys.executable},
        **fields}))


def _assert_four_jobs_ran_on_both_hosts(out: subprocess.CompletedProcess, name: str, storage_url: str) -> None:
    assert out.returncode == 0, out.stderr[-2000:]
    jobs = show(name, storage_url)["jobs"]
    assert [j["status"] for j in jobs] == ["finished"] * 4
    assert all(j["result"] == pytest.approx((j["config"]["x"] - 1) ** 2) for j in jobs)
    assert len({j["attempts"][0]["host"] for j in jobs}) == 2, "both hosts ran jobs"


def test_auptimizer_node_resource_runs_on_the_hosts_of_its_node_file(workdir, storage_url, sshd):
    port, key = sshd
    user = os.environ.get("USER", "root")
    experiment = _aup_node_experiment(workdir, f"{user}@127.0.0.1:{port} {key}\n{user}@127.0.0.2:{port} {key}\n")
    out = tunelab("run", str(experiment), "--storage", storage_url, cwd=workdir)
    _assert_four_jobs_ran_on_both_hosts(out, "exp_node", storage_url)


def test_each_line_of_the_node_file_is_a_slot_so_a_host_listed_twice_runs_two_jobs(workdir, storage_url, sshd):
    """Auptimizer counts each line of its node file as one slot: a host listed twice is two workers there."""
    port, key = sshd
    user = os.environ.get("USER", "root")
    line = f"{user}@127.0.0.1:{port} {key}\n", f"{user}@127.0.0.2:{port} {key}\n"
    slow = "import time\n" + TRIAL.replace("trial.report(", "time.sleep(1.5)\ntrial.report(")
    experiment = _aup_node_experiment(workdir, line[0] + line[1] + line[1], slow, n_parallel=3, n_samples=6)
    out = tunelab("run", str(experiment), "--storage", storage_url, cwd=workdir)
    assert out.returncode == 0, out.stderr[-2000:]
    attempts = [j["attempts"][0] for j in show("exp_node", storage_url)["jobs"]]
    assert len({a["host"] for a in attempts}) == 3, "one worker per line of the node file"
    spans = sorted((a["started"], a["ended"]) for a in attempts)
    assert max(sum(s <= t < e for s, e in spans) for t, _ in spans) == 3, "three jobs at once"


def test_a_node_that_refuses_ssh_is_one_line_and_nothing_recorded(workdir, storage_url):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    experiment = _aup_node_experiment(workdir, f"{os.environ.get('USER', 'root')}@127.0.0.1:{port}\n")
    out = tunelab("run", str(experiment), "--storage", storage_url, cwd=workdir)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr[-2000:]
    assert "resource_args.cluster: cannot start the 'ssh' cluster" in out.stderr and "Traceback" not in out.stderr
    assert tunelab("show", "exp_node", "--storage", storage_url).returncode == 2
