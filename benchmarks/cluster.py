"""Slot utilisation on a Dask cluster: how much of the workers' time runs trials?

``--jobs`` sleep jobs of ``--seconds`` each (a script that sleeps, then reports) on a Dask
``LocalCluster`` of ``--workers`` single-slot worker processes, ``n_parallel`` = workers,
proposer ``random``, SQLite in a temporary folder. Each trial records when it started and
ended (its own clock, inside the trial process); utilisation is the trials' busy time over
slots x wall time, wall time from the first trial's start to the last one's end (cluster
start-up excluded, and shown apart). Target: >= 95 % at 2,000 x 1 s jobs on 8 workers.

Ray Tune on the same number of CPUs, the same sleep function, runs next to it when Ray is
installed (``pip install ray``; benchmark only). Ray's own published figure is 14 %
overhead for 10,000 x 1 s trials on 16 CPUs.

Usage::

    python benchmarks/cluster.py                 # 2,000 jobs x 1 s on 8 workers
    python benchmarks/cluster.py --quick         # 160 jobs

Every job starts two Python processes (the runner and the trial) on its worker, so on a
machine with fewer cores than workers start-up competes with the sleeps: read the
figures with the core count printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

SLEEPER = """
import time
from tunelab import trial
config = trial.load_config()
start = time.time()
time.sleep({seconds})
trial.report(config["x"], start=start, end=time.time())
"""


def tunelab_utilisation(jobs: int, workers: int, seconds: float) -> dict[str, float]:
    """Run the sleep jobs through tunelab on a LocalCluster; return its figures."""
    from tunelab import api

    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder, "sleep.py")
        script.write_text(SLEEPER.format(seconds=seconds))
        spec = {"name": "utilisation", "script": str(script), "n_samples": jobs, "n_parallel": workers,
                "proposer": "random", "random_seed": 0,
                "parameter_config": [{"name": "x", "type": "float", "range": [0, 1]}],
                "resource": "dask", "resource_args": {"cluster": {"kind": "local", "n_workers": workers}}}
        begun = time.time()
        result = api.run(spec, storage=f"sqlite:///{folder}/tunelab.db")
        ended = time.time()
        spans = [(j.extra["start"], j.extra["end"]) for j in result.jobs if j.status == "finished"]
    return _figures(spans, workers, begun, ended)


def ray_utilisation(jobs: int, workers: int, seconds: float) -> dict[str, float] | None:
    """The same sleeps as Ray Tune trials on ``workers`` CPUs, or None without Ray."""
    try:
        import ray
        from ray import tune
    except ImportError:
        return None

    def sleeper(config: dict) -> dict:
        start = time.time()
        time.sleep(seconds)
        return {"loss": config["x"], "start": start, "end": time.time()}

    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        begun = time.time()
        tuner = tune.Tuner(sleeper, param_space={"x": tune.uniform(0, 1)},
                           tune_config=tune.TuneConfig(num_samples=jobs, max_concurrent_trials=workers))
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
            "utilisation_total": busy / (slots * (ended - begun))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true", help="160 jobs")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "cluster.json")
    args = parser.parse_args()
    jobs = 160 if args.quick else args.jobs
    rows = {"tunelab (Dask LocalCluster)": tunelab_utilisation(jobs, args.workers, args.seconds)}
    ray_row = ray_utilisation(jobs, args.workers, args.seconds)
    if ray_row is not None:
        rows["Ray Tune"] = ray_row
    print(f"{jobs} jobs x {args.seconds:g} s on {args.workers} slots; {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"{'':30} {'utilisation':>11} {'incl. start-up':>14} {'wall s':>8} {'start-up s':>10}")
    for name, row in rows.items():
        print(f"{name:30} {row['utilisation']:>10.1%} {row['utilisation_total']:>14.1%} {row['wall_s']:>8.1f} "
              f"{row['start_up_s']:>10.1f}")
    if ray_row is None:
        print("Ray Tune: skipped (pip install ray to compare)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"jobs": jobs, "workers": args.workers, "seconds": args.seconds,
                                    "cores": os.cpu_count(), "rows": rows}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
