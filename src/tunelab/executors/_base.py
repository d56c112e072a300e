"""Executors run jobs somewhere and stream their events back; they know nothing of search.

:class:`Executor` is the interface the engine sees. The public methods of
:class:`ProcessExecutor` do the bookkeeping every executor of local processes shares: the
job folder (``config.json``, ``events.jsonl``, ``stdout``, ``stderr``), reading reports,
timeouts, and the stop sequence (stop file, SIGTERM after a grace period, SIGKILL).
Its subclasses implement ``_launch``, ``_exited`` and ``_signal``. Executors of other
machines (Dask) implement :class:`Executor` and call :func:`tunelab.runner.run` beside each trial.
"""

from __future__ import annotations

import abc
import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunelab import _protocol as protocol
from tunelab._reports import ReportStream
from tunelab.executors import _cannot_start as cannot_start

STARTED, REPORT, EXIT = "started", "report", "exit"

PID_FILE = "pid"
"""File in an attempt's folder holding its process (group) id, to clean up after a crash."""


@dataclass
class Launch:
    """Everything needed to run one attempt of a job.

    Attributes:
        key: the attempt's id, naming it in events.
        config: the job's configuration, written to ``config.json``.
        folder: the attempt's own folder.
        argv: the command (script executors); ``None`` for function executors.
        cwd: working directory of the process.
        env: extra environment variables (``CUDA_VISIBLE_DEVICES``, the user's ``env``).
        timeout: seconds before the attempt is killed as hung.
        labels: names of the extra values in ``#Auptimizer:v,x,y`` lines.
        track: every ``#Auptimizer:`` line is an intermediate value too
            (:class:`~tunelab._reports.ReportStream`).
        function: a function trial's ``module:qualname`` (its executor calls it in a
            process it keeps for the next attempts); ``None`` for scripts.
    """

    key: int
    config: dict[str, Any]
    folder: Path
    argv: list[str] | None = None
    cwd: str = "."
    env: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    labels: list[str] = field(default_factory=list)
    track: bool = False
    function: str | None = None


@dataclass
class Event:
    """Something that happened to an attempt.

    ``kind`` is ``started`` (with the ``host`` running it, when not the coordinator's),
    ``report`` (with ``report``) or ``exit`` (with ``error``: ``None`` for a clean exit,
    else the reason it failed). A report's ``report_seq`` is its place in the attempt's
    files (:class:`~tunelab._reports.ReportStream`), the number storage records it under,
    the same when ``resume`` reads the files after a crash. ``lost`` marks an exit where
    the machine running the attempt went away: not the trial's failure.
    """

    key: int
    kind: str
    report: protocol.Report | None = None
    error: str | None = None
    report_seq: int = 0
    host: str | None = None
    lost: bool = False


@dataclass
class _Running:
    launch: Launch
    started: float
    stream: ReportStream
    stop_requested: float | None = None
    signalled: int = 0
    timed_out: bool = False


def log_tail(folder: Path, lines: int = 5) -> str:
    """The last lines of an attempt's stderr (else stdout), for error messages."""
    for name in ("stderr", "stdout"):
        path = folder / name
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            if text:
                return " | ".join(text[-lines:])
    return ""


class Executor(abc.ABC):
    """Runs attempts somewhere and reports what happens to them; knows nothing of search.

    The engine's whole view of an executor: ``submit`` an attempt, ``poll`` its events
    (``started``, ``report``, ``exit``, each once and in order), ``stop`` it, ``shutdown``.
    """

    @property
    @abc.abstractmethod
    def running(self) -> list[int]:
        """Keys of the attempts still running."""

    @property
    def ahead(self) -> int:
        """How many attempts beyond ``n_parallel`` this executor can hold waiting, each
        starting the moment a running one ends, while never running more than
        ``n_parallel`` at once. Executors that start an attempt as soon as they get it: 0."""
        return 0

    @abc.abstractmethod
    def submit(self, launch: Launch) -> None:
        """Start the attempt; what becomes of it arrives through :meth:`poll`."""

    @abc.abstractmethod
    def stop(self, key: int) -> None:
        """Ask an attempt to stop (stop file, then SIGTERM and SIGKILL of its group if it lingers)."""

    @abc.abstractmethod
    def poll(self, timeout: float = 0.0) -> list[Event]:
        """Events since the last call, waiting up to ``timeout`` seconds for one."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Stop every attempt now and release resources."""

    def take_score(self, key: int, value: float) -> bool:
        """Give a running attempt its score from outside; False if this kind of attempt
        reports its own results (only the ``passive`` resource takes scores by hand)."""
        return False


class ProcessExecutor(Executor):
    """An executor whose attempts run as processes of this machine: the bookkeeping they share.

    Args:
        grace_period: seconds between the stop request and SIGTERM, and between SIGTERM
            and SIGKILL.
    """

    def __init__(self, grace_period: float = 5.0) -> None:
        self.grace_period = grace_period
        self._running: dict[int, _Running] = {}
        self._events: list[Event] = []

    @property
    def running(self) -> list[int]:
        """Keys of the attempts still running."""
        return list(self._running)

    def submit(self, launch: Launch) -> None:
        """Prepare the attempt's folder and start it.

        An attempt that cannot start (its folder or working folder missing, the program
        not found, not executable or not a program: any ``OSError``) ends at once with an
        ``exit`` event naming the reason, so it is a failed attempt like any other.
        """
        launch.env = {
            **launch.env,
            protocol.ENV_CONFIG: str(launch.folder / "config.json"),
            protocol.ENV_REPORT_FILE: str(launch.folder / "events.jsonl"),
            protocol.ENV_STOP_FILE: str(launch.folder / "STOP"),
        }
        stream = ReportStream(launch.folder, launch.labels, launch.track)
        self._running[launch.key] = _Running(launch, time.monotonic(), stream)
        try:
            launch.folder.mkdir(parents=True, exist_ok=True)
            (launch.folder / "config.json").write_text(json.dumps(launch.config, indent=1), encoding="utf-8")
            pid = self._launch(launch)
        except OSError as exc:
            self._cannot_start(launch, exc)
            return
        if pid is not None:
            (launch.folder / PID_FILE).write_text(str(pid), encoding="utf-8")
        self._events.append(Event(launch.key, STARTED))

    def _cannot_start(self, launch: Launch, exc: OSError) -> None:
        del self._running[launch.key]
        reason = cannot_start.describe(exc, launch.argv, launch.cwd)
        with contextlib.suppress(OSError), open(launch.folder / "stderr", "a", encoding="utf-8") as handle:
            handle.write(reason + "\n")
        self._events.append(Event(launch.key, EXIT, error=reason))

    def stop(self, key: int) -> None:
        """Ask an attempt to stop: stop file now, SIGTERM and SIGKILL if it lingers."""
        run = self._running.get(key)
        if run is None or run.stop_requested is not None:
            return
        (run.launch.folder / "STOP").touch()
        run.stop_requested = time.monotonic()

    def poll(self, timeout: float = 0.0) -> list[Event]:
        """Events since the last call, waiting up to ``timeout`` seconds for one."""
        deadline = time.monotonic() + timeout
        while True:
            self._scan()
            if self._events or time.monotonic() >= deadline:
                break
            self._wait(min(deadline - time.monotonic(), 0.25))
        events, self._events = self._events, []
        return events

    def shutdown(self) -> None:
        """Stop every attempt now (SIGTERM, then SIGKILL) and release resources."""
        for key in list(self._running):
            self._signal(key, signal.SIGTERM)
        end = time.monotonic() + min(self.grace_period, 3.0)
        while self._running and time.monotonic() < end:
            for key in list(self._running):
                if self._exited(key) is not None:
                    del self._running[key]
            time.sleep(0.02)
        for key in list(self._running):
            self._signal(key, signal.SIGKILL)
            del self._running[key]

    def _scan(self) -> None:
        now = time.monotonic()
        for key, run in list(self._running.items()):
            self._read_reports(run)
            code = self._exited(key)
            if code is not None:
                self._read_reports(run, at_end=True)
                del self._running[key]
                self._events.append(Event(key, EXIT, error=self._exit_error(run, code)))
                continue
            self._enforce(key, run, now)

    def _enforce(self, key: int, run: _Running, now: float) -> None:
        timeout = run.launch.timeout
        if timeout and not run.timed_out and now - run.started > timeout:
            run.timed_out = True
            run.stop_requested = run.stop_requested or now - self.grace_period
        if run.stop_requested is None:
            return
        waited = now - run.stop_requested
        if run.signalled == 0 and (waited >= self.grace_period or run.timed_out):
            self._signal(key, signal.SIGTERM)
            run.signalled, run.stop_requested = 1, now
        elif run.signalled == 1 and waited >= self.grace_period:
            self._signal(key, signal.SIGKILL)
            run.signalled = 2

    def _exit_error(self, run: _Running, code: int | str) -> str | None:
        if run.timed_out:
            return f"timeout: killed after job_timeout={run.launch.timeout:g}s"
        if isinstance(code, str):
            return code
        if code == 0 or run.stop_requested is not None:
            return run.stream.bad_report
        reason = f"exit code {code}" if code > 0 else f"killed by signal {-code}"
        tail = log_tail(run.launch.folder)
        return f"{reason}: {tail}" if tail else reason

    def _read_reports(self, run: _Running, *, at_end: bool = False) -> None:
        for numbered in run.stream.read(at_end=at_end):
            self._events.append(Event(run.launch.key, REPORT, report=numbered.report, report_seq=numbered.seq))

    def _wait(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0) if seconds < 0.005 else min(seconds, 0.005))

    @abc.abstractmethod
    def _launch(self, launch: Launch) -> int | None:
        """Start the attempt; return its process id when it has one."""

    @abc.abstractmethod
    def _exited(self, key: int) -> int | str | None:
        """``None`` while running; else the exit code, or a failure reason string."""

    @abc.abstractmethod
    def _signal(self, key: int, sig: int) -> None:
        """Send ``sig`` to the attempt (its whole process group)."""


def kill_group(pid: int, sig: int) -> None:
    """Signal the process group led by ``pid``; a gone group is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
