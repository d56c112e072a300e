"""Slot utilisation on a Dask cluster: how much of the workers' time runs trials?

``--jobs`` sleep jobs of ``--seconds`` each on a Dask ``LocalCluster`` of ``--workers``
single-slot worker processes, ``n_parallel`` = workers, proposer ``random``, SQLite in a
temporary folder: once as a script that sleeps, then reports (a process per job), once as
a function objective that sleeps and returns (a process per worker, kept for its jobs). Each trial records when it started and
ended (its own clock, inside the trial process); utilisation is the trials' busy time over
slots x wall time, wall time from the first trial's start to the last one's end (cluster
start-up excluded, and shown apart). Target: >= 95 % at 2,000 x 1 s jobs on 8 workers.

Ray Tune on the same number of CPUs, the same sleep as a function, runs next to them when Ray is
installed (``pip install ray``; benchmark only). Ray's own published figure is 14 %
overhead for 10,000 x 1 s trials on 16 CPUs.

Usage::

    python benchmarks/cluster.py                 # 2,000 jobs x 1 s on 8 workers
    python benchmarks/cluster.py --quick         # 160 jobs

Every job starts its trial, a Python process, on its worker (the runner beside it runs in
the worker's own process), so on a machine with fewer cores than workers start-up
competes with the sleeps: read the figures with the core count printed beside them.

``--scale`` measures the coordinator instead: ``--jobs`` (default 10,000) jobs in one
experiment on a ``dask scheduler`` and ``dask worker`` started as separate processes, so
that this process holds only the engine and the Dask client. Each job is ``echo`` printing
its result (the cheapest trial there is; proposer ``random``). A thread samples this
process's CPU time every 0.2 s; the jobs' stored end times map it to the number of jobs
finished, which gives CPU ms and wall ms per job for each 1,000 jobs, and the ratio of the
last 1,000 to the first (target: <= 1.2)::

    python benchmarks/cluster.py --scale              # 10,000 jobs on 4 workers
    python benchmarks/cluster.py --scale --jobs 2000
"""

from __future__ import annotations

import argparse
import bisect
import compileall
import json
import logging
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import numpy as np

SLEEPER = """
import time
first_line = time.time()
from tunelab import trial
config = trial.load_config()
start = time.time()
time.sleep({seconds})
trial.report(config["x"], start=start, end=time.time(), imports=start - first_line)
"""

SLEEPER_FUNCTION = """
import time

def sleep(config):
    start = time.time()
    time.sleep({seconds})
    return {{"loss": config["x"], "start": start, "end": time.time()}}
"""


def tunelab_utilisation(jobs: int, workers: int, seconds: float, function: bool = False) -> dict[str, float]:
    """Run the sleep jobs through tunelab on a LocalCluster, as a script (a process per
    job) or as a function objective (a process per worker, kept); return its figures.

    tunelab's bytecode is compiled first, as ``pip install`` does: from a source checkout
    under ``PYTHONDONTWRITEBYTECODE`` every trial would compile ``tunelab.trial`` again.
    """
    import tunelab
    from tunelab import api

    compileall.compile_dir(Path(tunelab.__file__).parent, quiet=1)

    with tempfile.TemporaryDirectory() as folder:
        spec = {"name": "utilisation", "n_samples": jobs, "n_parallel": workers, "workingdir": folder,
                "proposer": "random", "random_seed": 0,
                "parameter_config": [{"name": "x", "type": "float", "range": [0, 1]}],
                "resource": "dask", "resource_args": {"cluster": {"kind": "local", "n_workers": workers}}}
        if function:
            Path(folder, "sleeper.py").write_text(SLEEPER_FUNCTION.format(seconds=seconds))
        else:
            Path(folder, "sleep.py").write_text(SLEEPER.format(seconds=seconds))
            spec["script"] = str(Path(folder, "sleep.py"))
        begun = time.time()
        result = api.run(spec, storage=f"sqlite:///{folder}/tunelab.db", objective="sleeper:sleep" if function else None)
        ended = time.time()
        finished = [j for j in result.jobs if j.status == "finished"]
        spans = [(j.extra["start"], j.extra["end"]) for j in finished]
    figures = _figures(spans, workers, begun, ended)
    if not function:
        imports = sorted(j.extra["imports"] for j in finished)
        figures["trial_imports_ms"] = 1000 * imports[len(imports) // 2]
    return figures


def ray_utilisation(jobs: int, workers: int, seconds: float) -> dict[str, float] | None:
    """The same sleeps as Ray Tune trials on ``workers`` CPUs, or None without Ray.

    One CPU per trial, ``reuse_actors`` on (Ray's advice for many short trials), results
    in a temporary folder, and Ray's own output kept to errors.
    """
    try:
        import ray
        from ray import tune
    except ImportError:
        return None

    def sleeper(config: dict) -> dict:
        start = time.time()
        time.sleep(seconds)
        return {"loss": config["x"], "start": start, "end": time.time()}

    logging.getLogger("ray").setLevel(logging.ERROR)
    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"  # the output engine before 2.5, silent at verbose=0
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        with tempfile.TemporaryDirectory() as folder:
            begun = time.time()
            tuner = tune.Tuner(sleeper, param_space={"x": tune.uniform(0, 1)},
                               tune_config=tune.TuneConfig(num_samples=jobs, max_concurrent_trials=workers,
                                                           reuse_actors=True),
                               run_config=tune.RunConfig(storage_path=folder, name="utilisation", verbose=0))
            grid = tuner.fit()
            ended = time.time()
            spans = [(r.metrics["start"], r.metrics["end"]) for r in grid if r.metrics and "start" in r.metrics]
    finally:
        ray.shutdown()
    return _figures(spans, workers, begun, ended)


def _figures(spans: list[tuple[float, float]], slots: int, begun: float, ended: float) -> dict[str, float]:
    first, last = min(s for s, _ in spans), max(e for _, e in spans)
    busy = sum(e - s for s, e in spans)
    return {"jobs": len(spans), "busy_s": busy, "wall_s": last - first, "start_up_s": first - begun,
            "total_s": ended - begun, "utilisation": busy / (slots * (last - first)),
            "utilisation_total": busy / (slots * (ended - begun)),
            "idle_ms_per_job": 1000 * (slots * (last - first) - busy) / len(spans)}


RESULTS = Path(__file__).parent / "results"
"""Where the figures are written as JSON."""
BLOCK = 1000
"""Jobs per row of the ``--scale`` table."""


@contextmanager
def dask_processes(folder: str, workers: int) -> Iterator[str]:
    """A ``dask scheduler`` and ``workers`` single-thread ``dask worker`` processes, each
    its own process (argv lists, output to files in ``folder``); yields the scheduler's address."""
    address_file = Path(folder, "scheduler.json")
    dask = [sys.executable, "-m", "dask"]
    started: list[subprocess.Popen] = []
    with open(Path(folder, "dask.log"), "wb") as log:
        try:
            started.append(subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                             "--no-dashboard", "--scheduler-file", str(address_file)],
                                            stdout=log, stderr=log))
            deadline = time.monotonic() + 60
            while not address_file.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            address = json.loads(address_file.read_text())["address"]
            started += [subprocess.Popen([*dask, "worker", address, "--nthreads", "1", "--no-dashboard",
                                          "--no-nanny", "--name", f"w{i}"], stdout=log, stderr=log)
                        for i in range(workers)]
            yield address
        finally:
            for proc in started:
                proc.terminate()
            for proc in started:
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


class CpuSampler:
    """Records (wall time, this process's CPU time, its main thread's CPU time) every
    ``interval`` seconds in a thread. The main thread runs the engine and its storage; the
    rest is mostly the Dask client's own thread, whose cost follows the wall time (it polls)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.samples: list[tuple[float, float, float]] = []
        self._main = time.pthread_getcpuclockid(threading.main_thread().ident)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
        self._record()

    def _record(self) -> None:
        self.samples.append((time.time(), time.process_time(), time.clock_gettime(self._main)))

    def _sample(self) -> None:
        while not self._done.is_set():
            self._record()
            self._done.wait(self.interval)

    def cpu_at(self, when: float, column: int = 1) -> float:
        """CPU time at ``when`` (``column`` 1: the process's, 2: the main thread's),
        interpolated between the two nearest samples."""
        times = [sample[0] for sample in self.samples]
        i = min(max(bisect.bisect_left(times, when), 1), len(times) - 1)
        (t0, c0), (t1, c1) = (self.samples[i - 1][0], self.samples[i - 1][column]), \
            (self.samples[i][0], self.samples[i][column])
        return c0 + (c1 - c0) * min(max((when - t0) / (t1 - t0), 0.0), 1.0) if t1 > t0 else c1


def coordinator_cost(jobs: int, workers: int) -> dict:
    """Run ``jobs`` echo jobs on separate Dask processes; the coordinator's CPU and wall
    time per job for each :data:`BLOCK` jobs, in the order they finished."""
    from tunelab import api

    with tempfile.TemporaryDirectory() as folder, dask_processes(folder, workers) as address:
        spec = {"name": "scale", "command": ["echo", "#Auptimizer:{x}"], "n_samples": jobs, "n_parallel": workers,
                "proposer": "random", "random_seed": 0, "workingdir": folder, "job_failure": {"ignore_fail": True},
                "parameter_config": [{"name": "x", "type": "float", "range": [0, 1]}],
                "resource": "dask", "resource_args": {"scheduler": address}}
        database = f"{folder}/tunelab.db"
        with CpuSampler() as sampler:
            api.run(spec, storage=f"sqlite:///{database}")
        with closing(sqlite3.connect(database)) as conn:
            begun = conn.execute("SELECT min(started) FROM attempts").fetchone()[0]
            ends = [row[0] for row in conn.execute("SELECT ended FROM jobs WHERE status = 'finished' ORDER BY ended")]
            failed = conn.execute("SELECT count(*) FROM jobs WHERE status != 'finished'").fetchone()[0]
    marks = [begun] + [ends[min(k, len(ends)) - 1] for k in range(BLOCK, len(ends) + BLOCK, BLOCK)]
    blocks = []
    for start, end in zip(marks, marks[1:]):
        done = sum(start < t <= end for t in ends) or 1
        blocks.append({"cpu_ms": 1000 * (sampler.cpu_at(end) - sampler.cpu_at(start)) / done,
                       "engine_ms": 1000 * (sampler.cpu_at(end, 2) - sampler.cpu_at(start, 2)) / done,
                       "wall_ms": 1000 * (end - start) / done, "jobs": done})
    keys = ("cpu", "engine", "wall")
    return {"jobs": len(ends), "failed": failed, "workers": workers, "blocks": blocks,
            **{f"ratio_{key}": blocks[-1][f"{key}_ms"] / blocks[0][f"{key}_ms"] for key in keys},
            **{f"trend_{key}": _trend([block[f"{key}_ms"] for block in blocks]) for key in keys}}


def _trend(values: list[float]) -> float:
    """Last over first of the least-squares line through ``values``: the growth that one
    noisy block at either end (a shared machine) cannot fake or hide."""
    if len(values) < 2:
        return 1.0
    slope, intercept = np.polyfit(np.arange(len(values)), values, 1)
    return (intercept + slope * (len(values) - 1)) / intercept


def _job_cycle(store: Any, experiment_id: int, number: int) -> None:
    """The storage writes of one job's life in the engine: recorded, started, placed, ended."""
    job = store.add_job(experiment_id, number, {"x": number / 7}, None, {})
    attempt = store.start_attempt(job, 1, {"slot": 0}, f"job-{number}", "coordinator")
    store.attempt_started(attempt, "host worker tcp://127.0.0.1:1")
    store.end_attempt(job, attempt, job_status="finished", attempt_status="finished", value=0.5, extra={})


def storage_cost(history: int, rounds: int = 20, batch: int = 100) -> dict[str, float]:
    """CPU ms of one job's storage writes on a fresh experiment and on one with ``history``
    jobs, measured in alternating batches so that the machine's load hits both alike."""
    from tunelab.storage import Storage

    with tempfile.TemporaryDirectory() as folder:
        stores, experiments, counts = [], [], []
        for name, jobs in (("fresh", 0), ("long", history)):
            store = Storage(f"sqlite:///{folder}/{name}.db")
            experiment = store.create_experiment(name, {}, 0)
            for number in range(jobs):
                _job_cycle(store, experiment.id, number)
            stores.append(store)
            experiments.append(experiment.id)
            counts.append(jobs)
        spent = [0.0, 0.0]
        for _ in range(rounds):
            for k in (0, 1):
                begun = time.process_time()
                for _ in range(batch):
                    _job_cycle(stores[k], experiments[k], counts[k])
                    counts[k] += 1
                spent[k] += time.process_time() - begun
        for store in stores:
            store.close()
    jobs = rounds * batch
    return {"history": history, "fresh_ms": 1000 * spent[0] / jobs, "long_ms": 1000 * spent[1] / jobs,
            "ratio": spent[1] / spent[0]}


def print_cost(cost: dict) -> None:
    """The ``--scale`` table: one row per :data:`BLOCK` jobs, then the last/first ratios."""
    print(f"coordinator cost, {cost['jobs']} echo jobs on {cost['workers']} Dask workers (separate processes); "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    if cost["failed"]:
        print(f"{cost['failed']} jobs did not finish (left out of the rows)")
    print(f"{'jobs':>13} {'CPU ms/job':>11} {'main thread':>12} {'wall ms/job':>12}")
    done = 0
    for block in cost["blocks"]:
        print(f"{done + 1:>6}-{done + block['jobs']:<6} {block['cpu_ms']:>11.2f} {block['engine_ms']:>12.2f} "
              f"{block['wall_ms']:>12.2f}")
        done += block["jobs"]
    print(f"{'last / first':>13} {cost['ratio_cpu']:>10.2f}x {cost['ratio_engine']:>11.2f}x "
          f"{cost['ratio_wall']:>11.2f}x   (target <= 1.2x)")
    print(f"{'fitted line':>13} {cost['trend_cpu']:>10.2f}x {cost['trend_engine']:>11.2f}x "
          f"{cost['trend_wall']:>11.2f}x   (last / first of the least-squares line through the rows)")
    store = cost["storage"]
    print(f"storage writes of one job, CPU ms (alternating batches): {store['fresh_ms']:.3f} on a fresh experiment, "
          f"{store['long_ms']:.3f} after {store['history']:,} jobs: {store['ratio']:.2f}x")


def main() -> None:
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # the dask processes are stopped
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, help="default 2,000; 10,000 with --scale")
    parser.add_argument("--workers", type=int, help="default 8; 4 with --scale")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true", help="160 jobs")
    parser.add_argument("--out", type=Path, help="JSON of the figures; default results/cluster.json "
                                                  "(results/cluster_scale.json with --scale)")
    parser.add_argument("--scale", action="store_true",
                        help="coordinator cost per job over one long experiment, instead of slot utilisation")
    args = parser.parse_args()
    if args.scale:
        cost = coordinator_cost(args.jobs or 10_000, args.workers or 4)
        cost["storage"] = storage_cost(args.jobs or 10_000)
        print_cost(cost)
        out = args.out or RESULTS / "cluster_scale.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"cores": os.cpu_count(), **cost}, indent=1))
        return
    jobs = 160 if args.quick else args.jobs or 2000
    args.workers = args.workers or 8
    rows = {"tunelab, script (Dask)": tunelab_utilisation(jobs, args.workers, args.seconds),
            "tunelab, function (Dask)": tunelab_utilisation(jobs, args.workers, args.seconds, function=True)}
    ray_row = ray_utilisation(jobs, args.workers, args.seconds)
    if ray_row is not None:
        rows["Ray Tune"] = ray_row
    print(f"{jobs} jobs x {args.seconds:g} s on {args.workers} slots; {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"{'':30} {'utilisation':>11} {'incl. start-up':>14} {'wall s':>8} {'start-up s':>10} "
          f"{'idle ms/job':>11}")
    for name, row in rows.items():
        print(f"{name:30} {row['utilisation']:>10.1%} {row['utilisation_total']:>14.1%} {row['wall_s']:>8.1f} "
              f"{row['start_up_s']:>10.1f} {row['idle_ms_per_job']:>11.0f}")
    print(f"a script's idle time per job includes the trial's own Python start and its "
          f"`from tunelab import trial` ({rows['tunelab, script (Dask)']['trial_imports_ms']:.0f} ms, median); "
          f"a function trial runs in a process its worker keeps, as Ray's reused actors do")
    if ray_row is None:
        print("Ray Tune: skipped (pip install ray to compare)")
    out = args.out or RESULTS / "cluster.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"jobs": jobs, "workers": args.workers, "seconds": args.seconds,
                                    "cores": os.cpu_count(), "rows": rows}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
