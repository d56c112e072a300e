"""How much does tunelab itself cost? Two measurements, printed as tables.

(a) **Function jobs per second.** 1,000 trivial function jobs (the objective returns a
    float at once; 5 float parameters; proposer ``random``; ``n_parallel`` 2; SQLite
    storage in a temporary folder) through :func:`tunelab.api.run`, next to Optuna with
    SQLite storage on the same objective (``study.optimize``, one process, ``n_jobs=1``
    as users run it, and ``n_jobs=2``). Target: tunelab >= 3x Optuna's ``n_jobs=1`` rate.

(b) **Script jobs, wall time.** 200 trivial script jobs (a tiny Python script that reads
    its config with ``tunelab.trial.load_config`` and prints ``#Auptimizer:<value>``) at
    ``n_parallel`` 2 through tunelab, next to the same 200 commands (same argv, the same
    config files) run bare, two at a time with :class:`subprocess.Popen`. Each is measured
    twice, in the order tunelab, bare, bare, tunelab, and the means are compared. Target:
    tunelab within 1.15x of the bare run. One more row, for information, runs the same
    jobs with ``tunelab run`` in a new process, so its start-up (imports) is included.

Usage::

    python benchmarks/overhead.py            # 1,000 function jobs, 200 script jobs
    python benchmarks/overhead.py --quick    # 200 function jobs, 40 script jobs

Timings on a shared machine are noisy: run it twice and compare.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _objectives  # noqa: E402  (workers import it by name from this folder)

from tunelab import api  # noqa: E402

FUNCTION_TARGET = 3.0
"""tunelab's function-job rate must be at least this multiple of Optuna's (n_jobs=1)."""

SCRIPT_TARGET = 1.15
"""tunelab's wall time for script jobs must be at most this multiple of the bare run."""

N_PARALLEL = 2


@dataclass
class Row:
    """One measured contender."""

    name: str
    jobs: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        """Jobs per second."""
        return self.jobs / self.seconds if self.seconds > 0 else float("inf")


# (a) function jobs ------------------------------------------------------------------


def tunelab_functions(n: int, folder: Path) -> Row:
    """``n`` trivial function jobs through the Python API, SQLite storage in ``folder``."""
    spec = {"name": "overhead-functions", "proposer": "random", "n_samples": n, "n_parallel": N_PARALLEL,
            "random_seed": 0, "target": "min", "parameter_config": _objectives.space()}
    url = f"sqlite:///{folder / 'tunelab-functions' / 'db.sqlite'}"
    start = time.perf_counter()
    result = api.run(spec, storage=url, objective=_objectives.trivial)
    seconds = time.perf_counter() - start
    finished = sum(job.status == "finished" for job in result.jobs)
    if finished != n:
        raise SystemExit(f"tunelab finished {finished} of {n} function jobs")
    return Row(f"tunelab api.run (n_parallel={N_PARALLEL})", n, seconds, "worker processes")


def optuna_functions(n: int, folder: Path, n_jobs: int) -> Row | None:
    """``n`` trials of the same objective with Optuna on SQLite; ``None`` without Optuna."""
    try:
        import optuna
    except ImportError:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    url = f"sqlite:///{folder / f'optuna-{n_jobs}.sqlite'}"
    start = time.perf_counter()
    study = optuna.create_study(storage=url, study_name=f"overhead-{n_jobs}", direction="minimize",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(_objectives.optuna_trivial, n_trials=n, n_jobs=n_jobs)
    seconds = time.perf_counter() - start
    done = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    if done != n:
        raise SystemExit(f"optuna completed {done} of {n} trials")
    return Row(f"optuna {optuna.__version__} optimize (n_jobs={n_jobs})", n, seconds,
               "threads" if n_jobs > 1 else "one process")


# (b) script jobs --------------------------------------------------------------------


def tunelab_scripts(n: int, folder: Path, script: Path, name: str) -> tuple[Row, list[list[str]]]:
    """``n`` trivial script jobs through tunelab; also returns the argv of every job."""
    spec = {"name": name, "script": str(script), "workingdir": str(folder), "proposer": "random",
            "n_samples": n, "n_parallel": N_PARALLEL, "random_seed": 0, "target": "min",
            "parameter_config": _objectives.space()}
    url = f"sqlite:///{folder / 'tunelab-scripts' / 'db.sqlite'}"
    start = time.perf_counter()
    result = api.run(spec, storage=url)
    seconds = time.perf_counter() - start
    finished = [job for job in result.jobs if job.status == "finished"]
    if len(finished) != n:
        errors = {job.error for job in result.jobs if job.error}
        raise SystemExit(f"tunelab finished {len(finished)} of {n} script jobs: {errors}")
    argvs = [[sys.executable, str(script), str(Path(job.attempts[-1].folder) / "config.json")] for job in finished]
    return Row(f"tunelab api.run (n_parallel={N_PARALLEL})", n, seconds, "SQLite, job folders, logs"), argvs


def cli_scripts(n: int, folder: Path, script: Path) -> Row:
    """``n`` trivial script jobs through ``tunelab run`` in a subprocess (startup included)."""
    experiment = folder / "overhead-cli.json"
    experiment.write_text(json.dumps({
        "name": "overhead-cli", "script": str(script), "workingdir": str(folder), "proposer": "random",
        "n_samples": n, "n_parallel": N_PARALLEL, "random_seed": 0, "target": "min",
        "parameter_config": _objectives.space()}), encoding="utf-8")
    url = f"sqlite:///{folder / 'tunelab-cli' / 'db.sqlite'}"
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "tunelab", "run", str(experiment), "--storage", url, "--plain"],
                         capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"tunelab run failed: {out.stderr.strip()[-500:]}")
    return Row("tunelab run (CLI, incl. startup)", n, seconds, "a new process: imports, then jobs")


def bare_scripts(argvs: list[list[str]], folder: Path, name: str) -> Row:
    """The same commands without tunelab: two at a time, the next starts when one ends."""
    logs = folder / name
    logs.mkdir(parents=True, exist_ok=True)
    pending = list(enumerate(argvs))
    running: dict[int, subprocess.Popen[bytes]] = {}
    failures = 0

    def start(index: int, argv: list[str]) -> None:
        with open(logs / f"{index}.out", "wb") as out, open(logs / f"{index}.err", "wb") as err:
            # Each in its own session, as tunelab starts jobs: with Linux's autogroup
            # scheduling a new session is a new scheduling group, which changes how much
            # CPU a job gets on a busy machine; same setup, fair comparison.
            proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
        running[proc.pid] = proc

    began = time.perf_counter()
    while pending or running:
        while pending and len(running) < N_PARALLEL:
            start(*pending.pop(0))
        pid, status = os.wait()
        proc = running.pop(pid, None)
        if proc is not None:
            proc.returncode = os.waitstatus_to_exitcode(status)
            failures += proc.returncode != 0
    seconds = time.perf_counter() - began
    if failures:
        raise SystemExit(f"{failures} bare script runs failed; see {logs}")
    return Row(f"bare Popen, {N_PARALLEL} at a time", len(argvs), seconds, "same argv, config files, own session")


def warm_up(script: Path, folder: Path) -> None:
    """Run the script a few times so both contenders start with warm file caches."""
    config = folder / "warmup.json"
    config.write_text('{"x0": 1.0}', encoding="utf-8")
    for _ in range(3):
        subprocess.run([sys.executable, str(script), str(config)], check=True, capture_output=True)


# Tables -----------------------------------------------------------------------------


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)), line]
    out += ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    return "\n".join(out)


def function_table(rows: list[Row]) -> tuple[str, float | None]:
    """Table (a), ranked by rate; also tunelab's rate over Optuna's n_jobs=1 rate."""
    tunelab = rows[0]
    ranked = sorted(rows, key=lambda r: -r.rate)
    body = [[r.name, str(r.jobs), f"{r.seconds:.2f}", f"{r.rate:.1f}", str(ranked.index(r) + 1),
             f"{tunelab.rate / r.rate:.2f}x", r.note] for r in rows]
    text = _table(["contender", "jobs", "wall s", "jobs/s", "rank", "tunelab/this", "note"], body)
    baseline = next((r for r in rows if "n_jobs=1" in r.name), None)
    return text, (tunelab.rate / baseline.rate if baseline else None)


def script_table(tunelab: list[Row], bare: list[Row], cli: Row | None = None) -> tuple[str, float]:
    """Table (b), ranked by mean wall time; also tunelab's mean time over the bare mean."""
    means = {"bare": sum(r.seconds for r in bare) / len(bare), "tunelab": sum(r.seconds for r in tunelab) / len(tunelab)}
    rows = [(bare[0], means["bare"], bare), (tunelab[0], means["tunelab"], tunelab)]
    if cli is not None:
        rows.append((cli, cli.seconds, [cli]))
    ranked = sorted(mean for _, mean, _ in rows)
    body = [[r.name, str(r.jobs), f"{mean:.2f}", " ".join(f"{x.seconds:.2f}" for x in runs),
             f"{1000 * mean / r.jobs:.1f}", str(ranked.index(mean) + 1), f"{mean / means['bare']:.3f}x", r.note]
            for r, mean, runs in rows]
    text = _table(["contender", "jobs", "mean s", "runs s", "ms/job", "rank", "time/bare", "note"], body)
    return text, means["tunelab"] / means["bare"]


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    """Run both measurements and print the tables; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description="tunelab's overhead next to Optuna and to bare processes.")
    parser.add_argument("--quick", action="store_true", help="200 function jobs and 40 script jobs")
    parser.add_argument("--functions", type=int, help="number of function jobs (default 1000, quick 200)")
    parser.add_argument("--scripts", type=int, help="number of script jobs (default 200, quick 40)")
    parser.add_argument("--skip-functions", action="store_true", help="skip measurement (a)")
    parser.add_argument("--skip-scripts", action="store_true", help="skip measurement (b)")
    parser.add_argument("--skip-cli", action="store_true", help="in (b), skip the `tunelab run` subprocess row")
    args = parser.parse_args()
    n_functions = args.functions or (200 if args.quick else 1000)
    n_scripts = args.scripts or (40 if args.quick else 200)

    print(f"tunelab overhead benchmark: python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    missed = False
    with tempfile.TemporaryDirectory(prefix="tunelab-overhead-") as tmp:
        folder = Path(tmp)
        if not args.skip_functions:
            rows = [tunelab_functions(n_functions, folder)]
            rows += [r for r in (optuna_functions(n_functions, folder, 1), optuna_functions(n_functions, folder, 2))
                     if r is not None]
            text, ratio = function_table(rows)
            print(f"\n(a) {n_functions} trivial function jobs, 5 float parameters, random search, SQLite storage")
            print(text)
            if ratio is None:
                print("optuna is not installed: no comparison (pip install optuna)")
            else:
                ok = ratio >= FUNCTION_TARGET
                missed |= not ok
                print(f"tunelab / optuna(n_jobs=1) rate: {ratio:.2f}x (target >= {FUNCTION_TARGET:g}x): {_verdict(ok)}")
        if not args.skip_scripts:
            script = folder / "trivial_script.py"
            script.write_text(_objectives.SCRIPT, encoding="utf-8")
            warm_up(script, folder)
            # A B B A order (tunelab, bare, bare, tunelab) cancels drifts in the machine's load.
            first, argvs = tunelab_scripts(n_scripts, folder, script, "overhead-scripts-1")
            bare = [bare_scripts(argvs, folder, "bare-1"), bare_scripts(argvs, folder, "bare-2")]
            tunelab_rows = [first, tunelab_scripts(n_scripts, folder, script, "overhead-scripts-2")[0]]
            cli = None if args.skip_cli else cli_scripts(n_scripts, folder, script)
            text, ratio = script_table(tunelab_rows, bare, cli)
            extra = 1000 * (sum(r.seconds for r in tunelab_rows) - sum(r.seconds for r in bare)) / (2 * n_scripts)
            print(f"\n(b) {n_scripts} trivial script jobs at n_parallel={N_PARALLEL}, "
                  f"measured tunelab, bare, bare, tunelab")
            print(text)
            ok = ratio <= SCRIPT_TARGET
            missed |= not ok
            print(f"tunelab / bare wall time: {ratio:.3f}x (target <= {SCRIPT_TARGET:g}x): {_verdict(ok)}; "
                  f"tunelab adds {extra:.1f} ms of wall time per job")
            if cli is not None:
                mean_bare = sum(r.seconds for r in bare) / len(bare)
                print(f"`tunelab run` in a new process, startup included: {cli.seconds / mean_bare:.3f}x the bare run "
                      f"(informational; the target is judged on the API rows measured A B B A)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
