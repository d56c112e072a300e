"""The same experiment on a real Dask LocalCluster of several worker processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import kill_9_then_resume, show, start_run, tunelab, write_experiment

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
    with _taken(8787):  # Dask's default dashboard port: another cluster on this machine must not bother the run
        out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    jobs = show("onDask", storage_url)["jobs"]
    assert len(jobs) == 9 and all(j["status"] in ("finished", "stopped") for j in jobs)
    stopped = [j for j in jobs if j["status"] == "stopped"]
    assert any(len(j["intermediate"]) < 5 for j in stopped), "stop decisions reach the workers mid-run"
    hosts = {j["attempts"][-1]["host"] for j in jobs}
    assert all(" worker tcp://127.0.0.1:" in h for h in hosts)
    assert len(hosts) >= 2, "jobs should spread over the workers"
    table = tunelab("show", "onDask", "--storage", storage_url, env={"COLUMNS": "300"}).stdout
    assert "host" in table and all(h.split(" worker ")[1] in table for h in hosts), table
    for job in jobs:
        if job["status"] == "finished":
            assert job["result"] == pytest.approx((job["config"]["x"] - 1) ** 2)
            assert [s for s, _ in job["intermediate"]] == [1, 2, 3, 4, 5]


@contextlib.contextmanager
def _taken(port: int):
    """Hold ``port`` on this machine (if nobody else does already)."""
    with socket.socket() as sock:
        with contextlib.suppress(OSError):
            sock.bind(("0.0.0.0", port))
            sock.listen()
        yield


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
    from distributed import Client

    # lambdas travel by value: the `dask worker` processes cannot import this test module
    with Client(address, timeout=30) as client:
        left = client.run_on_scheduler(lambda dask_scheduler: [
            name for ext in ("queues", "semaphores", "events", "variables")
            for name in getattr(dask_scheduler.extensions[ext],
                                {"queues": "queues", "semaphores": "max_leases", "events": "_events",
                                 "variables": "variables"}[ext])
            if name.startswith("tunelab-")])
        assert left == [], "the ended run left objects on the scheduler"
        held = client.run(lambda: len(__import__("tunelab.executors.dask", fromlist=["_RUNS"])._RUNS.handles))
        assert set(held.values()) == {0}, "the workers still hold the ended run's handles"


def test_cloud_routes_of_other_tools_point_to_the_cluster_docs(workdir, storage_url, script):
    script("print('fitness: 1')")
    out = tunelab("sweep", "--cloud", "gcloud", "-hp", "lr=0.1,0.2", "--storage", storage_url, "train.py")
    _one_line_exit_2(out, "--cloud: 'gcloud' is not run directly", "dask-cloudprovider", "docs/cluster.md")
    exp = write_experiment(workdir, name="aup", script="train.py", parameter_config=SPACE, resource="aws")
    _one_line_exit_2(tunelab("run", str(exp), "--storage", storage_url), "resource: 'aws'", "docs/cluster.md")


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


LOGGED = """
import os, time
from tunelab import trial
config = trial.load_config()
job = os.environ["TUNELAB_JOB_ID"]
lines = open("runs.log").read().split() if os.path.exists("runs.log") else []
for what, other_job, pid, _ in zip(*[iter(lines)] * 4):
    try:
        alive = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        alive = False
    if what == "start" and other_job == job and alive:
        open("overlap.log", "a").write(f"job {job}: {pid} still runs as {os.getpid()} starts\\n")
with open("runs.log", "a") as log:
    log.write(f"start {job} {os.getpid()} {time.time()}\\n")
time.sleep(float(os.environ.get("JOB_SECONDS", "3")))
with open("runs.log", "a") as log:
    log.write(f"end {job} {os.getpid()} {time.time()}\\n")
trial.report((config["x"] - 1) ** 2)
"""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _runs(workdir: Path) -> list[tuple[str, int, int, float]]:
    path = workdir / "runs.log"
    lines = path.read_text().split("\n") if path.is_file() else []
    return [(w[0], int(w[1]), int(w[2]), float(w[3])) for w in (line.split() for line in lines) if len(w) == 4]


def _wait(condition, limit: float = 60):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


LOGGED_FUNCTION = "def logged(config):\n" + "".join(
    f"    {line}\n" for line in LOGGED.strip().splitlines()
    if "trial." not in line and "import" not in line) + "    return (config['x'] - 1) ** 2\n"
"""LOGGED as a function objective: the same log lines, its result returned."""


@pytest.mark.parametrize("trial", ["script", "function"])
def test_a_killed_worker_loses_its_attempt_which_runs_again_elsewhere_once(workdir, storage_url, script, trial):
    if trial == "script":
        script(LOGGED)
        what = {"script": "train.py"}
    else:
        script("import os, time\n" + LOGGED_FUNCTION, name="objective.py")
        what = {"function": "objective:logged"}
    exp = write_experiment(workdir, name="killw", **what, n_samples=3, n_parallel=2, random_seed=2,
                           parameter_config=SPACE, resource="dask", runtime_args={"env": {"JOB_SECONDS": "4"}},
                           resource_args={"cluster": {"kind": "local", "n_workers": 3}})
    proc = start_run(exp, storage_url, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, job, trial_pid, _ = _wait(lambda: _runs(workdir) and _runs(workdir)[0])
        worker = _parent(trial_pid)
        assert _parent(worker) == proc.pid, "the trial is the child of a worker process of the coordinator's cluster"
        os.kill(worker, signal.SIGKILL)
        _wait(lambda: not _alive(trial_pid), limit=2)  # dies with its worker, not when its 4 s are over
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    jobs = {j["id"]: j for j in show("killw", storage_url)["jobs"]}
    assert [j["status"] for j in jobs.values()] == ["finished"] * 3
    lost, again = jobs[job]["attempts"]
    assert lost["status"] == "lost" and "worker" in lost["error"] and "died" in lost["error"]
    assert again["status"] == "finished" and again["host"] != lost["host"]
    runs = _runs(workdir)
    assert sum(1 for r in runs if r[0] == "start" and r[1] == job) == 2
    assert not (workdir / "overlap.log").exists(), (workdir / "overlap.log").read_text()


def test_coordinator_kill_9_then_resume_keeps_every_finished_result(workdir, storage_url, script):
    script(LOGGED)
    exp = write_experiment(workdir, name="kill9", script="train.py", n_samples=5, n_parallel=3, random_seed=4,
                           parameter_config=SPACE, resource="dask", runtime_args={"env": {"JOB_SECONDS": "1"}},
                           resource_args={"cluster": {"kind": "local", "n_workers": 3}})
    before = kill_9_then_resume(exp, storage_url, "kill9", 2)
    _wait(lambda: not any(_alive(pid) for _, _, pid, _ in _runs(workdir)), limit=15)
    jobs = {j["id"]: j for j in show("kill9", storage_url)["jobs"]}
    assert len(jobs) == 5 and all(j["status"] == "finished" for j in jobs.values())
    starts = [job for what, job, _, _ in _runs(workdir) if what == "start"]
    for job_id, job in before.items():
        assert jobs[job_id]["result"] == job["result"] and jobs[job_id]["attempts"] == job["attempts"]
        assert starts.count(job_id) == 1, "a finished job ran again"
    for job in jobs.values():
        counting = [a for a in job["attempts"] if a["status"] == "finished"]
        assert len(counting) == 1
    assert not (workdir / "overlap.log").exists(), (workdir / "overlap.log").read_text()


def test_workers_of_an_outside_scheduler_stop_the_trials_of_a_coordinator_killed_with_9(
        workdir, storage_url, script, scheduler):
    address, started = scheduler
    started += [_dask("worker", address, "--nthreads", "2", "--no-dashboard") for _ in range(2)]  # room for both
    script(LOGGED.replace('time.sleep(float(os.environ.get("JOB_SECONDS", "3")))',
                          'while os.path.exists("hold") and "attempt-1" in os.environ["TUNELAB_CONFIG"]:\n'
                          '    time.sleep(0.1)'))
    (workdir / "hold").touch()
    exp = write_experiment(workdir, name="orphans", script="train.py", n_samples=2, n_parallel=2, random_seed=5,
                           parameter_config=SPACE, resource="dask",
                           runtime_args={"grace_period": 1},
                           resource_args={"scheduler": address, "lapse": 4, "worker_timeout": 30})
    proc = start_run(exp, storage_url, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pids = [pid for _, _, pid, _ in _wait(lambda: len(_runs(workdir)) == 2 and _runs(workdir))]
    finally:
        proc.kill()
        proc.wait()
    out = tunelab("resume", "orphans", "--storage", storage_url)  # at once: it waits for the lapse itself
    assert out.returncode == 0, out.stderr
    assert not any(_alive(pid) for pid in pids)
    jobs = show("orphans", storage_url)["jobs"]
    assert [j["status"] for j in jobs] == ["finished"] * 2
    assert all([a["status"] for a in j["attempts"]] == ["cancelled", "finished"] for j in jobs)
    assert not (workdir / "overlap.log").exists(), (workdir / "overlap.log").read_text()


def test_a_slurm_cluster_submits_the_job_script_its_keywords_say(tmp_path):
    """No SLURM here: the script dask-jobqueue would hand to sbatch is checked instead."""
    from tunelab.executors.dask import jobqueue_cluster

    cluster = jobqueue_cluster("slurm", {"cores": 2, "memory": "4GB", "queue": "gpu", "walltime": "01:00:00",
                                         "job_extra_directives": ["--gres=gpu:1"], "log_directory": str(tmp_path)})
    try:
        script = cluster.job_script()
        assert cluster.scheduler.allowed_failures == 0, "Dask must not re-run a task whose worker died"
    finally:
        cluster.close()
    for line in ("#SBATCH -p gpu", "#SBATCH --cpus-per-task=2", "#SBATCH -t 01:00:00", "#SBATCH --gres=gpu:1"):
        assert line in script
    assert f"{sys.executable} -m distributed.cli.dask_worker tcp://" in script


GPU_TRIAL = """
import os, time
from tunelab import trial
config = trial.load_config()
start = time.time()
time.sleep(1.5)
trial.report((config["x"] - 1) ** 2, gpu=float(os.environ["CUDA_VISIBLE_DEVICES"]), start=start, end=time.time())
"""


def test_jobs_get_the_gpu_ids_of_their_worker_and_never_share_one(workdir, storage_url, script):
    script(GPU_TRIAL)
    exp = write_experiment(workdir, name="gpus", script="train.py", n_samples=8, n_parallel=4, random_seed=6,
                           parameter_config=SPACE, resource="dask",
                           resource_args={"resources": {"GPU": 1},
                                          "cluster": {"kind": "local", "n_workers": 2, "threads_per_worker": 2,
                                                      "resources": {"GPU": 2}}})
    out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    jobs = show("gpus", storage_url)["jobs"]
    assert [j["status"] for j in jobs] == ["finished"] * 8
    held = [(j["attempts"][0]["host"], j["extra_results"]) for j in jobs]
    assert {extra["gpu"] for _, extra in held} == {0.0, 1.0}
    for i, (host, one) in enumerate(held):
        for other_host, other in held[i + 1:]:
            overlap = one["start"] < other["end"] and other["start"] < one["end"]
            if host == other_host and overlap:
                assert one["gpu"] != other["gpu"], "two jobs at once on one GPU"


HELD = """
import os, time
def held(config):
    job = int(os.environ["TUNELAB_JOB_ID"])
    with open("runs.log", "a") as log:
        log.write(f"start {job} {os.getpid()} {time.time()}\\n")
    while job > 4 and os.path.exists("hold"):
        time.sleep(0.1)
    time.sleep(0.2)
    return config["x"] ** 2
"""
"""A function objective whose jobs after the fourth wait while the file ``hold`` exists."""


def test_workers_end_the_function_processes_of_a_coordinator_killed_with_9(workdir, storage_url, script, scheduler):
    address, started = scheduler
    started += [_dask("worker", address, "--nthreads", "2", "--no-dashboard") for _ in range(2)]
    script(HELD, name="objective.py")
    (workdir / "hold").touch()
    exp = write_experiment(workdir, name="idle", function="objective:held", n_samples=8, n_parallel=2,
                           random_seed=6, parameter_config=SPACE, resource="dask", runtime_args={"grace_period": 1},
                           resource_args={"scheduler": address, "lapse": 4, "worker_timeout": 30})
    proc = start_run(exp, storage_url, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        runs = _wait(lambda: sum(job > 4 for _, job, _, _ in _runs(workdir)) == 2 and _runs(workdir))
    finally:
        proc.kill()
        proc.wait()
    held = {pid for _, job, pid, _ in runs if job > 4}
    idle = {pid for _, _, pid, _ in runs} - held
    assert idle, "a process that ran an earlier job waits for work when the coordinator dies"
    _wait(lambda: not any(_alive(pid) for pid in held | idle), limit=4 + 1 + 3 + 5)  # lapse, grace, checks, margin


def test_a_function_objective_runs_on_the_workers_by_module_path(workdir, storage_url):
    from tunelab import api

    (workdir / "objective.py").write_text(
        "import os\n"
        "CALLS = []\n"
        "def quad(config):\n"
        "    CALLS.append(config['x'])\n"
        "    if config['x'] > 2.5:\n"
        "        raise ValueError('x too large')\n"
        "    return {'loss': (config['x'] - 1) ** 2, 'pid': os.getpid(), 'calls': len(CALLS)}\n")
    spec = {"name": "fn", "n_samples": 8, "n_parallel": 2, "random_seed": 3, "parameter_config": SPACE,
            "initial_configs": [{"x": 2.9}], "job_failure": {"ignore_fail": True},
            "resource": "dask", "resource_args": {"cluster": {"kind": "local", "n_workers": 2}}}
    result = api.run(spec, objective="objective:quad", storage=storage_url)
    jobs = show("fn", storage_url)["jobs"]
    failed = [j for j in jobs if j["status"] == "failed"]
    assert len(failed) == 1 and "ValueError: x too large" in failed[0]["error"]
    finished = [j for j in jobs if j["status"] == "finished"]
    assert len(finished) == 7 and all(j["result"] == pytest.approx((j["config"]["x"] - 1) ** 2) for j in finished)
    pids = {j["extra_results"]["pid"] for j in finished}
    assert len(pids) <= 2 and os.getpid() not in pids, "one process per worker thread, kept, not the coordinator"
    calls = [j["extra_results"]["calls"] for j in finished]
    assert max(calls) >= 4, "8 jobs on 2 kept processes: one of them called the objective 4 times or more"
    assert all(" worker tcp://" in j["attempts"][0]["host"] for j in jobs)
    assert result.best is not None


SHORT = """
import time
from tunelab import trial
config = trial.load_config()
start = time.time()
time.sleep(0.3)
trial.report(config["x"] ** 2, start=start, end=time.time())
"""


def test_short_jobs_wait_ready_on_the_cluster_but_never_run_beyond_n_parallel(workdir, storage_url, script):
    """Dask holds one job per slot ready, so a slot starts its next job without waiting for
    the coordinator; on a cluster with more threads than n_parallel, the ready jobs must
    still wait for a slot (4 single-thread workers, n_parallel 2)."""
    from tunelab import api
    from tunelab.cli._progress import Progress

    script(SHORT)
    spec = {"name": "ahead", "script": "train.py", "n_samples": 16, "n_parallel": 2, "random_seed": 0,
            "parameter_config": SPACE, "resource": "dask",
            "resource_args": {"cluster": {"kind": "local", "n_workers": 4}}}
    submitted, lines, progress = [], [], Progress(live=False)

    def watch(engine) -> None:
        submitted.append(len(engine.active))
        lines.append(progress.line(engine))

    api.run(spec, storage=storage_url, on_change=watch)
    jobs = show("ahead", storage_url)["jobs"]
    assert [j["status"] for j in jobs] == ["finished"] * 16
    spans = [(j["extra_results"]["start"], j["extra_results"]["end"]) for j in jobs]
    at_once = max(sum(s <= start < e for s, e in spans) for start, _ in spans)
    assert at_once <= 2, f"{at_once} trials ran at once with n_parallel 2"
    assert max(submitted) == 4, "once jobs proved short, one more job per slot waited ready"
    assert any("2 running, 2 ready" in line for line in lines), lines[-5:]
    assert len({j["attempts"][0]["host"] for j in jobs}) >= 3, "the ready jobs took whichever worker was free"


def test_a_task_dask_runs_again_refuses_an_attempt_already_started(tmp_path):
    """What a scheduler with allowed-failures > 0 does after a worker death, done by hand:
    the second run of an attempt's task must not start the trial again."""
    from distributed import Client, Event, LocalCluster

    from tunelab.executors import Launch
    from tunelab.executors.dask import run_attempt
    from tunelab.runner import launch_to_dict

    launch = Launch(key=7, config={}, folder=tmp_path / "a", argv=[sys.executable, "-c", "open('ran', 'w')"],
                    cwd=str(tmp_path))
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster, Client(cluster) as client:
        Event("tunelab-claim-run1-7", client=client).set()
        result = client.submit(run_attempt, launch_to_dict(launch, 1.0), "run1", 1, pure=False).result(timeout=60)
    assert result["kind"] == "exit" and result["lost"] and "re-ran" in result["error"]
    assert not (tmp_path / "ran").exists() and not (tmp_path / "a").exists()


def _profiles(dask_worker) -> bool:
    return "profile" in dask_worker.periodic_callbacks


def test_workers_of_a_cluster_tunelab_starts_neither_retry_nor_profile_tasks():
    """Dask samples each worker's task threads 100 times a second; a tunelab task only
    waits on its trial, so the clusters tunelab starts turn that off (and re-runs too)."""
    from tunelab.executors.dask import connect

    executor = connect(None, {"kind": "local", "n_workers": 2}, worker_timeout=60, slots=2)
    try:
        profiling = executor.client.run(_profiles)
        assert len(profiling) == 2 and not any(profiling.values())
        assert executor.cluster.scheduler.allowed_failures == 0
    finally:
        executor.shutdown()
