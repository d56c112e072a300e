"""Runs one attempt beside its trial, on whichever machine hosts it.

The search-free half of an executor, called by a Dask task on its worker
(:func:`run`). It uses the very code the local executor runs (:class:`~tunelab.executors.local.ScriptExecutor`:
the attempt folder, the trial from its argv in its own process group, reports read from
the folder, the timeout and the stop sequence on this machine's clock), so a trial behaves
the same everywhere. A function trial runs in a process of a
:class:`~tunelab.executors.function.FunctionExecutor` its caller keeps for the next
attempts. The trial gets SIGKILL if the thread that started it dies, so a worker killed
mid-attempt leaves no orphan.

Launches and events cross machines as JSON-able dicts (:func:`launch_to_dict`,
:func:`event_to_dict`); nothing else of the coordinator's travels.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from tunelab import _protocol as protocol
from tunelab.executors._base import EXIT, STARTED, Event, Launch, ProcessExecutor
from tunelab.executors.local import ScriptExecutor

POLL = 0.1
"""Seconds between looks at whether the attempt should stop (its exit is noticed at once)."""


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


def run(launch: Launch, grace_period: float, emit: Callable[[list[Event]], None],
        stop_wanted: Callable[[], bool], host: str | None = None, executor: ProcessExecutor | None = None) -> Event:
    """Run ``launch`` here to its end, passing its events to ``emit`` as they happen.

    Args:
        launch: the attempt.
        grace_period: seconds between the stop request, SIGTERM and SIGKILL.
        emit: takes the events in order, in the batches they were seen in (``started``
            carries ``host``); the last batch ends with the exit, so a trial's last reports
            and its exit can travel together.
        stop_wanted: asked every :data:`POLL` seconds; once true, the attempt is stopped.
        host: the name of this place, for the ``started`` event.
        executor: runs the attempt and outlives it (a function trial's, with its process
            kept); by default a script's own, ended with the attempt. Either is shut down
            if the attempt is cut short by an exception.

    Returns:
        The ``exit`` event.
    """
    own = executor is None
    executor = executor or ScriptExecutor(grace_period, die_with_parent=True)
    ended, stopping = False, False
    try:
        executor.submit(launch)
        while True:
            events = executor.poll(POLL)
            for event in events:
                if event.kind == STARTED:
                    event.host = host
            if events:
                ended = events[-1].kind == EXIT
                emit(events)
                if ended:
                    return events[-1]
            if not stopping and stop_wanted():
                executor.stop(launch.key)
                stopping = True
    finally:
        if own or not ended:
            executor.shutdown()
