"""Unchanged DeepHyper search scripts on a cluster: placed on Dask by ``$TUNELAB_SCHEDULER``
(a real ``dask scheduler``, two real ``dask worker`` processes and the script as a real
process), and started by a real ``mpirun`` (Open MPI, installed by ``.ci/run``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest

from tests.conftest import write
from tunelab.storage import Storage

PROBLEM = """
import os
from tunelab.compat.deephyper import CBO, Evaluator, HpProblem

problem = HpProblem()
problem.add_hyperparameter((-10.0, 10.0), "x")


def run(job):
    return {"objective": -job.parameters["x"] ** 2, "metadata": {"pid": os.getpid()}}

"""

SEARCH = PROBLEM + """
if __name__ == "__main__":
    evaluator = Evaluator.create(run, method=METHOD, method_kwargs=OPTIONS)
    results = CBO(problem, evaluator, random_state=42, log_dir="out").search(max_evals=6)
    print(f"{len(results)} results")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dask(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def cluster():
    """A scheduler and two single-thread workers named w0 and w1; yields the address and
    the workers' addresses once both have joined."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{_free_port()}"
    started = [_dask("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard")]
    started += [_dask("worker", address, "--nthreads", "1", "--no-dashboard", "--name", f"w{i}") for i in range(2)]
    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
            workers = set(client.scheduler_info()["workers"])
        yield address, workers
    finally:
        for proc in started:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(("method", "options"), [("ray", {"address": "auto"}), ("mpicomm", {})])
def test_a_deephyper_script_runs_its_function_on_dask_workers(workdir, storage_url, cluster, method, options):
    address, workers = cluster
    script = write(workdir / "search.py", SEARCH.replace("METHOD", repr(method)).replace("OPTIONS", repr(options)))
    env = {**os.environ, "TUNELAB_SCHEDULER": address, "TUNELAB_STORAGE": storage_url}
    begun = time.time()
    out = subprocess.run([sys.executable, str(script)], cwd=workdir, env=env, capture_output=True, text=True,
                         timeout=240)
    assert out.returncode == 0, out.stderr
    assert "6 results" in out.stdout
    results = pd.read_csv(workdir / "out" / "results.csv")
    assert list(results["job_status"]) == ["DONE"] * 6
    assert (results["objective"] == -results["p:x"] ** 2).all()
    store = Storage(storage_url)
    try:
        (experiment,) = store.experiments()
        jobs = store.jobs(experiment.id)
    finally:
        store.close()
    assert experiment.spec["resource"] == "dask" and experiment.spec["resource_args"]["scheduler"] == address
    assert experiment.spec["n_parallel"] == 2, "no num_workers given: every thread of the cluster"
    hosts = [job.attempts[-1].host for job in jobs]
    assert all(host and host.split(" worker ")[1] in workers for host in hosts), hosts
    assert {host.split(" worker ")[1] for host in hosts} == workers, "the jobs spread over both workers"
    assert all(job.attempts[-1].started >= begun for job in jobs)
    assert os.getpid() not in set(results["m:pid"])


def test_a_resource_that_is_not_dask_beside_a_scheduler_names_both_variables(monkeypatch):
    from tunelab.compat.deephyper import Evaluator, HpProblem, RandomSearch
    from tunelab.compat.deephyper.evaluator import translate_output
    from tunelab.exceptions import UserError

    problem = HpProblem()
    problem.add_hyperparameter((0.0, 1.0), "x")
    search = RandomSearch(problem, Evaluator.create(translate_output, method="process"))
    monkeypatch.delenv("TUNELAB_SCHEDULER", raising=False)
    monkeypatch.delenv("TUNELAB_RESOURCE", raising=False)
    assert "resource" not in search.spec(3), "without the variables the search stays on local workers"
    monkeypatch.setenv("TUNELAB_SCHEDULER", "tcp://head:8786")
    monkeypatch.setenv("TUNELAB_RESOURCE", "cpu")
    with pytest.raises(UserError, match=r"\$TUNELAB_RESOURCE: \$TUNELAB_SCHEDULER runs on Dask"):
        search.spec(3)


MPI_SEARCH = PROBLEM + """
if __name__ == "__main__":
    with Evaluator.create(run, method="mpicomm") as evaluator:
        if evaluator is not None:
            results = CBO(problem, evaluator, random_state=42, log_dir="out").search(max_evals=6)
            print(f"{len(results)} results by {evaluator.num_workers} workers", flush=True)
        else:
            print("rank without the evaluator", flush=True)
"""


def test_a_deephyper_mpicomm_script_under_mpirun_runs_one_search(workdir, storage_url):
    """DeepHyper's own pattern for ``mpirun -np N python search.py``: the first rank gets
    the evaluator, the others None; one search runs, on N - 1 worker processes."""
    script = write(workdir / "search.py", MPI_SEARCH)
    env = {**os.environ, "TUNELAB_STORAGE": storage_url, "OMPI_ALLOW_RUN_AS_ROOT": "1",
           "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1"}
    out = subprocess.run(["mpirun", "-np", "3", sys.executable, str(script)], cwd=workdir, env=env,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("6 results by 2 workers") == 1, out.stdout
    assert out.stdout.count("rank without the evaluator") == 2, out.stdout
    results = pd.read_csv(workdir / "out" / "results.csv")
    assert list(results["job_status"]) == ["DONE"] * 6
    store = Storage(storage_url)
    try:
        (experiment,) = store.experiments()
        assert len(store.jobs(experiment.id)) == 6
    finally:
        store.close()
    assert experiment.spec["n_parallel"] == 2
