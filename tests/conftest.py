"""Shared fixtures: temporary storage, script writing and running the real CLI."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tunelab import storage as st
from tunelab.exceptions import StorageError
from tunelab.results import ExperimentResult

POSTGRES = os.environ.get("TUNELAB_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
"""The PostgreSQL server of the tests (an unreachable server fails them, never skips)."""

SHARED = Path(os.environ.get("TUNELAB_SHARED") or Path(__file__).resolve().parents[2] / "shared")
"""The folder shared with the project (seed examples, benchmark problems), beside the clone."""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean working directory (the default storage lands in its .tunelab/)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TUNELAB_STORAGE", raising=False)
    return tmp_path


@pytest.fixture
def storage_url(workdir: Path) -> str:
    """A SQLite database in the working directory."""
    return f"sqlite:///{workdir / 'db' / 'tunelab.db'}"


def fresh_database(server: str) -> tuple[str, Callable[[], None]]:
    """A new empty database on the server at ``server``: its URL and a function that drops it."""
    name = f"tl_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))

    def drop() -> None:
        force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name}{force}"))
        admin.dispose()

    return server.rsplit("/", 1)[0] + "/" + name, drop


def write(path: Path, text: str) -> Path:
    """Write dedented text to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def write_experiment(folder: Path, filename: str = "exp.json", **spec: Any) -> Path:
    """Write an experiment file (JSON) with the given keys."""
    path = folder / filename
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def tunelab(*args: str, cwd: Path | None = None, timeout: float = 120, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run the real ``tunelab`` CLI in a subprocess."""
    env = {**os.environ, **kwargs.pop("env", {})}
    return subprocess.run([sys.executable, "-m", "tunelab", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env, **kwargs)


def tunelab_inprocess(*args: str) -> subprocess.CompletedProcess:
    """Run the ``tunelab`` CLI's entry point in this process (argv, captured output, the
    exit code), for tests of many quick commands; the caller sets the working directory
    and environment (``monkeypatch``)."""
    import contextlib
    import io

    from tunelab.cli import main

    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code
    returncode = code if isinstance(code, int) else (0 if code is None else 1)
    return subprocess.CompletedProcess(["tunelab", *args], returncode, out.getvalue(), err.getvalue())


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_run(experiment: Path, storage: str, **kwargs: Any) -> subprocess.Popen:
    """Start ``tunelab run EXPERIMENT`` as a background coordinator that Ctrl-C reaches.

    A shell without job control starts background commands with SIGINT ignored, and a
    test run started that way would pass the ignore on; the child gets the default back,
    as a coordinator started from a terminal has it.
    """
    return subprocess.Popen([sys.executable, "-m", "tunelab", "run", str(experiment), "--storage", storage],
                            preexec_fn=_default_sigint, **kwargs)


def show(name: str, storage: str, cwd: Path | None = None) -> dict[str, Any]:
    """What ``tunelab show NAME --json`` prints, parsed. Read in this process unless a
    working folder is given: a CLI start costs a second, and the tests that run ``tunelab
    show`` itself check that it prints the same object."""
    if cwd is not None:
        out = tunelab("show", name, "--json", "--storage", storage, cwd=cwd)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)
    store = st.Storage(storage)
    try:
        return json.loads(ExperimentResult.load(store, name).to_json())
    finally:
        store.close()


def wait_finished(storage: str, name: str, count: int, proc: subprocess.Popen, limit: float = 90) -> None:
    """Wait until ``count`` jobs of ``name`` finished while the coordinator ``proc`` runs."""
    end = time.monotonic() + limit
    store = st.Storage(storage)
    try:
        while time.monotonic() < end:
            with contextlib.suppress(StorageError):  # not recorded yet
                jobs = store.jobs(store.experiment(name).id, details=False)
                if sum(j.status == st.FINISHED for j in jobs) >= count:
                    return
            assert proc.poll() is None, "coordinator ended early"
            time.sleep(0.2)
    finally:
        store.close()
    raise AssertionError("jobs did not finish in time")


def kill_9_then_resume(experiment: Path, storage: str, name: str, count: int) -> dict[int, dict[str, Any]]:
    """Run ``experiment``, kill -9 the coordinator once ``count`` jobs finished, then
    ``tunelab resume`` it; returns the jobs that had finished before the kill, by id."""
    proc = start_run(experiment, storage, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_finished(storage, name, count, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {j["id"]: j for j in show(name, storage)["jobs"] if j["status"] == "finished"}
    out = tunelab("resume", name, "--storage", storage)
    assert out.returncode == 0, out.stderr
    return before


@pytest.fixture
def script(workdir: Path) -> Callable[[str, str], Path]:
    """Write a training script into the working directory."""
    def make(body: str, name: str = "train.py") -> Path:
        return write(workdir / name, body)
    return make
