"""What an attempt left behind when its coordinator died: its processes stopped, its reports read.

``resume`` calls :func:`salvage` for every attempt still marked running. Its trial may
outlive the coordinator (it runs in a session of its own), so the processes of the attempt
are found by the report file in their environment, killed, and waited for before the
folder is read: nothing is written after the reading. Reading uses the live engine's
:class:`~tunelab._reports.ReportStream`, so each report gets the ``seq`` it had or
would have had live, and calling :func:`salvage` twice gives the same answer.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from tunelab import _protocol as protocol
from tunelab._reports import Numbered, ReportStream, rank
from tunelab.executors._base import kill_group

GONE_WAIT = 5.0
"""Seconds to wait for killed leftover processes to be gone before reading the folder."""


@dataclass
class Salvage:
    """Everything a dead attempt reported, in stream order.

    Attributes:
        intermediate: the intermediate reports, each with its ``seq``.
        extra: the extra results of every report merged, later ones winning.
        final: the final report that counts (see :func:`~tunelab._reports.rank`),
            or ``None``.
    """

    intermediate: list[Numbered] = field(default_factory=list)
    extra: dict[str, float] = field(default_factory=dict)
    final: Numbered | None = None


def salvage(folder: Path, labels: list[str] | None = None, track: bool = False) -> Salvage:
    """Stop what still runs of the attempt in ``folder`` on this host and read its reports.

    Args:
        folder: the attempt's folder.
        labels: names of the extra values of ``#Auptimizer:v,x,y`` lines.
        track: every ``#Auptimizer:`` line is an intermediate value too.

    Example:
        >>> found = salvage(Path("jobs/exp/job-3/attempt-1"))  # doctest: +SKIP
        >>> [(n.seq, n.report.step) for n in found.intermediate], found.final  # doctest: +SKIP
    """
    stop_leftovers(folder)
    found = Salvage()
    for numbered in ReportStream(folder, list(labels or []), track).read(at_end=True):
        report = numbered.report
        found.extra.update(report.extra)
        if report.kind == "final" and (found.final is None or rank(numbered.seq) > rank(found.final.seq)):
            found.final = numbered
        elif report.kind == "intermediate":
            found.intermediate.append(numbered)
    return found


def stop_leftovers(folder: Path) -> list[int]:
    """Kill (SIGKILL, whole process group) every process of this host that runs the attempt
    in ``folder`` and wait until they are gone; return their ids."""
    pids = _processes_of(folder)
    for pid in pids:
        with contextlib.suppress(OSError):
            pgid = os.getpgid(pid)
            if pgid == os.getpgrp():
                os.kill(pid, signal.SIGKILL)
            else:
                kill_group(pgid, signal.SIGKILL)
    deadline = time.monotonic() + GONE_WAIT
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.01)
    return pids


def _processes_of(folder: Path) -> list[int]:
    """Processes whose environment names the attempt's report file (set for its trial)."""
    marker = f"{protocol.ENV_REPORT_FILE}={folder / 'events.jsonl'}".encode()
    proc = Path("/proc")
    found: list[int] = []
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a zombie runs nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
