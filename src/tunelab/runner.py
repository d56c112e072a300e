"""Runs one attempt beside its trial, on whichever machine hosts it: ``python -m tunelab.runner``.

The search-free half of an executor. It uses the very code the local executor runs
in-process (:class:`~tunelab.executors.local.ScriptExecutor`: the attempt folder, the
trial from its argv in its own process group, reports read from the folder, the timeout
and the stop sequence on this machine's clock), so a trial behaves the same everywhere.
The trial also gets SIGKILL if the runner dies, and the runner stops its trial when its
own parent (a Dask worker) dies, so no orphan outlives the machine's share of the run.

Wire format, one JSON object per line:

* stdin: first the launch (:func:`launch_to_dict`), then ``stop`` lines. End of input
  means whoever started the runner is gone: the trial is stopped.
* stdout: the attempt's events (:func:`event_to_dict`), ``started`` first, ``exit`` last.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
from dataclasses import fields
from pathlib import Path
from typing import IO, Any

from tunelab import _protocol as protocol
from tunelab.executors._base import EXIT, STARTED, Event, Launch
from tunelab.executors.local import ScriptExecutor, die_with_parent

STOP = "stop"
"""The line on a runner's stdin that asks its attempt to stop."""


def launch_to_dict(launch: Launch, grace_period: float) -> dict[str, Any]:
    """The JSON form of a launch (every field of :class:`Launch`), with the grace period
    of the stop sequence."""
    data = {f.name: getattr(launch, f.name) for f in fields(Launch)}
    return {**data, "folder": str(launch.folder), "grace_period": grace_period}


def launch_from_dict(data: dict[str, Any]) -> tuple[Launch, float]:
    """The launch and grace period of :func:`launch_to_dict`'s output."""
    values = {f.name: data[f.name] for f in fields(Launch) if f.name in data}
    return Launch(**{**values, "folder": Path(data["folder"])}), float(data["grace_period"])


def event_to_dict(event: Event) -> dict[str, Any]:
    """The JSON form of an event, as it travels between machines."""
    data: dict[str, Any] = {"key": event.key, "kind": event.kind}
    if event.report is not None:
        data["report"] = json.loads(event.report.to_json())
        data["report_seq"] = event.report_seq
    for name in ("error", "host"):
        if getattr(event, name) is not None:
            data[name] = getattr(event, name)
    if event.lost:
        data["lost"] = True
    return data


def event_from_dict(data: dict[str, Any]) -> Event:
    """The event of :func:`event_to_dict`'s output."""
    report = protocol.parse_record(data["report"]) if "report" in data else None
    return Event(int(data["key"]), str(data["kind"]), report=report, error=data.get("error"),
                 report_seq=int(data.get("report_seq", 0)), host=data.get("host"), lost=bool(data.get("lost")))


def run(launch: Launch, grace_period: float, commands: Lines, out: IO[str]) -> Event:
    """Run ``launch`` to its end, writing its events to ``out`` and obeying ``commands``.

    Returns:
        The ``exit`` event, also the last line written.
    """
    executor = ScriptExecutor(grace_period, die_with_parent=True)
    host = socket.gethostname()
    try:
        executor.submit(launch)
        while True:
            for event in executor.poll(0.1):
                if event.kind == STARTED:
                    event.host = host
                out.write(json.dumps(event_to_dict(event), allow_nan=True) + "\n")
                out.flush()
                if event.kind == EXIT:
                    return event
            if STOP in commands.ready() or commands.closed:
                executor.stop(launch.key)
    finally:
        executor.shutdown()


class Lines:
    """Lines arriving on a file descriptor, read without blocking (no read-ahead buffer
    that ``select`` cannot see)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.closed = False

    def first(self) -> str:
        """Block until one whole line arrived; return it."""
        while b"\n" not in self.buffer and not self.closed:
            self._read()
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()

    def ready(self, timeout: float = 0.0) -> list[str]:
        """The whole lines arrived so far, waiting up to ``timeout`` seconds for input;
        ``closed`` tells when the input has ended."""
        if not self.closed and select.select([self.fd], [], [], timeout)[0]:
            self._read()
        *lines, self.buffer = self.buffer.split(b"\n")
        return [line.decode().strip() for line in lines]

    def _read(self) -> None:
        data = os.read(self.fd, 65536)
        self.closed = not data
        self.buffer += data


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main() -> int:
    """Read the launch from stdin and run it; exit 0 whatever became of the trial."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    die_with_parent(signal.SIGTERM)
    if os.getppid() == 1:
        return 1
    commands = Lines(sys.stdin.fileno())
    launch, grace_period = launch_from_dict(json.loads(commands.first()))
    run(launch, grace_period, commands, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
