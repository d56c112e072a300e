"""``kill -9`` of ``tunelab run`` and ``tunelab resume`` at random moments, then resume to the end.

Several experiments run at once under one kill schedule, on SQLite and on PostgreSQL.
After the last resume the test checks what a user relies on: the full budget ran, no
finished result was lost, changed or run again, every intermediate value of every
finished attempt is recorded once, no job is left running, no trial process is alive, and
SQLite's integrity check passes.

The schedule comes from a seed printed with every failure (with each kill's time and
point); ``TUNELAB_KILL_SEED=<seed> pytest tests/test_kill_random.py`` replays it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import POSTGRES, fresh_database, write, write_experiment
from tunelab import storage as st
from tunelab.exceptions import StorageError

SEED = int(os.environ.get("TUNELAB_KILL_SEED") or random.SystemRandom().randrange(1 << 31))

TRAIN = """
import time
from tunelab import trial
config = trial.load_config()
for step in range(3):
    time.sleep(config["t"])
    trial.report_intermediate(config["t"] * 10 + step, step=step)
trial.report(config["t"])
"""
"""Three intermediate values and a final one; 0.1 to 0.4 s per job, so some trials
outlive a killed coordinator and some end while it is dead."""

N_SAMPLES = 4
EXPERIMENTS = 4
"""Experiments running at once under one schedule."""
SCHEDULES = {"sqlite": 3, "postgresql": 3}
"""Schedules per database: 3 x 2 x 4 = 24 kills of ``tunelab run``."""
RESUME_KILLS = 3
"""Experiments per database whose first ``tunelab resume`` is killed too (a kill may come
too late, after the command ended by itself: at least 2 of the 6 must land)."""


@dataclass
class Trigger:
    """Kill once ``finished`` jobs have finished, ``delay`` seconds later; with ``claimed``,
    once the command has claimed the experiment (where ``resume`` starts recovering)."""

    finished: int
    delay: float
    claimed: bool = False
    armed: float | None = None


@dataclass
class Case:
    """One experiment driven through its kills to its end."""

    name: str
    spec: Path
    url: str
    workdir: Path
    triggers: list[Trigger]
    proc: subprocess.Popen | None = None
    started: float = 0.0
    command: str = ""
    log: list[str] = field(default_factory=list)
    finished_at_kill: list[dict[int, st.Job]] = field(default_factory=list)
    kills: dict[str, int] = field(default_factory=lambda: {"run": 0, "resume": 0})

    def start(self, storage: st.Storage) -> None:
        exists = _experiment_id(storage, self.name) is not None
        self.command = "resume" if exists else "run"
        target = self.name if exists else str(self.spec)
        self.proc = subprocess.Popen([sys.executable, "-m", "tunelab", self.command, target, "--storage", self.url],
                                     cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.started = time.monotonic()

    def step(self, storage: st.Storage) -> bool:
        """Advance; False once the experiment ran to its end."""
        code = self.proc.poll()
        if code is not None:
            stderr = self.proc.stderr.read().decode()
            assert code == 0, f"{self.name}: `tunelab {self.command}` exited {code}: {stderr}"
            self.log.append(f"{self.command} ended by itself after {time.monotonic() - self.started:.2f}s")
            return False
        if not self.triggers:
            return True
        trigger, now = self.triggers[0], time.monotonic()
        if trigger.armed is None and self._reached(storage, trigger):
            trigger.armed = now
        if trigger.armed is not None and now >= trigger.armed + trigger.delay:
            self._kill(storage)
        return True

    def _reached(self, storage: st.Storage, trigger: Trigger) -> bool:
        if not trigger.claimed:
            return _finished(storage, self.name) >= trigger.finished
        experiment_id = _experiment_id(storage, self.name)
        owner = storage.experiment(experiment_id).owner if experiment_id is not None else None
        return owner is not None and f":{self.proc.pid}:" in owner

    def _kill(self, storage: st.Storage) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stderr.close()
        trigger = self.triggers.pop(0)
        self.kills[self.command] += 1
        jobs = _jobs(storage, self.name)
        finished = {i: j for i, j in jobs.items() if j.status == st.FINISHED}
        self.finished_at_kill.append(finished)
        point = "claim" if trigger.claimed else f"{trigger.finished} finished"
        self.log.append(f"killed {self.command} at {time.monotonic() - self.started:.2f}s ({point} "
                        f"+ {trigger.delay:.3f}s) with {len(finished)} jobs finished, "
                        f"{sum(j.status == st.RUNNING for j in jobs.values())} running")
        self.start(storage)


def _experiment_id(storage: st.Storage, name: str) -> int | None:
    try:
        return storage.experiment(name).id
    except StorageError:
        return None


def _jobs(storage: st.Storage, name: str) -> dict[int, st.Job]:
    experiment_id = _experiment_id(storage, name)
    return {j.id: j for j in (storage.jobs(experiment_id) if experiment_id is not None else [])}


def _finished(storage: st.Storage, name: str) -> int:
    experiment_id = _experiment_id(storage, name)
    if experiment_id is None:
        return 0
    return sum(j.status == st.FINISHED for j in storage.jobs(experiment_id, details=False))


def _schedule(rng: random.Random, resume_kill: bool) -> list[Trigger]:
    """A kill of ``run`` in its first 1.5 s or during any job up to the last, and
    optionally one of the ``resume`` that follows it, during its recovery or a job.

    A ``run`` killed before it records the experiment restarts as ``run``, so where a
    ``resume`` is to be killed, the ``run`` dies only after a job has finished."""
    if resume_kill:
        return [Trigger(rng.randrange(1, N_SAMPLES), rng.uniform(0.0, 0.1)),
                Trigger(rng.randrange(N_SAMPLES), rng.uniform(0.0, 0.1), claimed=rng.random() < 0.5)]
    if rng.random() < 0.3:
        return [Trigger(0, rng.uniform(0.0, 1.5))]
    return [Trigger(rng.randrange(N_SAMPLES), rng.uniform(0.0, 0.1))]


def _reported(folder: str) -> tuple[list[tuple[int, float]], float | None]:
    """The intermediate values and the final value an attempt wrote to its events file."""
    path = Path(folder) / "events.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []
    steps = [(r["step"], r["value"]) for r in records if r["kind"] == "intermediate"]
    finals = [r["value"] for r in records if r["kind"] == "final"]
    return steps, finals[-1] if finals else None


def _trial_processes(name: str) -> list[int]:
    """Live processes started for experiment ``name`` (zombies run nothing)."""
    marker = f"TUNELAB_EXPERIMENT={name}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if (entry.name.isdigit() and marker in (entry / "environ").read_bytes().split(b"\0")
                    and (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _check(case: Case, storage: st.Storage) -> None:
    experiment = storage.experiment(case.name)
    jobs = _jobs(storage, case.name)
    assert experiment.status == st.FINISHED, experiment.message
    assert len(jobs) == N_SAMPLES, "the budget was not spent exactly"
    assert all(j.status == st.FINISHED for j in jobs.values()), "a job was left unfinished"
    for before in case.finished_at_kill:
        for job_id, job in before.items():
            after = jobs[job_id]
            assert (after.value, after.extra) == (job.value, job.extra), f"job {job_id}: its result changed"
            assert len(after.attempts) == len(job.attempts), f"job {job_id} ran again after it finished"
            assert after.intermediate == job.intermediate, f"job {job_id}: its curve changed"
    for job in jobs.values():
        assert job.attempt_id == job.attempts[-1].id
        for attempt in job.attempts:
            assert attempt.status != st.RUNNING, f"job {job.id}: attempt {attempt.number} left running"
            steps, final = _reported(attempt.folder)
            if attempt.status == st.FINISHED:
                assert attempt.intermediate == steps, f"job {job.id}: attempt {attempt.number}'s steps"
            else:
                assert attempt.intermediate == steps[:len(attempt.intermediate)], f"job {job.id}: extra steps"
        steps, final = _reported(job.attempts[-1].folder)
        assert job.intermediate == steps and job.value == final, f"job {job.id}: not what its trial reported"
    assert not _trial_processes(case.name), "a trial process outlived the run"


def _run_schedules(workdir: Path, url: str, rng: random.Random, label: str, cases: list[Case]) -> None:
    """Run the database's schedules, adding each experiment to ``cases`` as it starts."""
    storage = st.Storage(url)
    try:
        for schedule in range(SCHEDULES[label]):
            batch = []
            for i in range(EXPERIMENTS):
                name = f"kill-{label}-{schedule}-{i}-{uuid.uuid4().hex[:6]}"
                spec = write_experiment(workdir, f"{name}.json", name=name, script="train.py", proposer="random",
                                        n_samples=N_SAMPLES, n_parallel=2, random_seed=rng.randrange(1000),
                                        parameter_config=[{"name": "t", "type": "float", "range": [0.03, 0.12]}])
                resume_kill = schedule * EXPERIMENTS + i < RESUME_KILLS
                batch.append(Case(name, spec, url, workdir, _schedule(rng, resume_kill)))
            cases += batch
            for case in batch:
                case.start(storage)
            running = list(batch)
            while running:
                running = [c for c in running if c.step(storage)]
                time.sleep(0.05)
            for case in batch:
                _check(case, storage)
    finally:
        storage.close()


@pytest.fixture
def postgres_url():
    """A fresh PostgreSQL database for this test, dropped after it."""
    url, drop = fresh_database(POSTGRES)
    yield url
    drop()


def test_random_kills_lose_nothing(workdir, postgres_url):
    rng = random.Random(SEED)
    write(workdir / "train.py", TRAIN)
    sqlite_url = f"sqlite:///{workdir / 'kill.db'}"
    cases: list[Case] = []
    try:
        _run_schedules(workdir, sqlite_url, rng, "sqlite", cases)
        _run_schedules(workdir, postgres_url, rng, "postgresql", cases)
    finally:
        _print_log(cases)  # shown by pytest when the test fails
    with sqlite3.connect(workdir / "kill.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kills = {command: sum(c.kills[command] for c in cases) for command in ("run", "resume")}
    assert kills["run"] >= 20 and kills["resume"] >= 2, kills


def _print_log(cases: list[Case]) -> None:
    print(f"\nTUNELAB_KILL_SEED={SEED}")
    for case in cases:
        print(f"{case.name}: " + "; ".join(case.log))

