"""An attempt's reports, read from its folder and numbered the same way live and after a crash.

Standard library and :mod:`tunelab._protocol` only: whatever runs beside a trial can use it.

A trial reports through three files in its folder: ``events.jsonl`` (the trial API) and
``stdout``/``stderr`` (``#tunelab:`` and ``#Auptimizer:`` lines). Each parsed report
gets a sequence number that depends only on the file it is in and its place among that
file's reports: the ``n``-th report of source ``i`` is ``seq = n * len(SOURCES) + i``.
The engine reading a live attempt and ``resume`` reading a dead one's folder therefore
give every report the same ``seq``, and storage records each ``(attempt, seq)`` once.
When an attempt reports several final values, the one that counts is chosen by ``seq``
too (:func:`rank`), never by which file happened to be read first.

Auptimizer's rule for its printed lines: the last ``#Auptimizer:`` line is the final
result, and when the experiment tracks intermediate results (``track_intermediate_results``
or an ``early_stop`` block) every such line is also an intermediate value, steps 1, 2, ...
in the order the lines appear in their file, extras included. Both reports of one line
share its ``seq``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from tunelab import _protocol as protocol

SOURCES = ("events.jsonl", "stdout", "stderr")
"""The files of an attempt's folder that carry reports, in the order they are read."""


def rank(seq: int) -> tuple[int, int]:
    """Orders reports of one kind: the highest rank wins. A report of an earlier source
    (the trial API before printed lines) outranks a later source's; within a source, the
    later report wins."""
    return -(seq % len(SOURCES)), seq // len(SOURCES)


@dataclass
class Numbered:
    """A report and its place in the attempt's stream (see the module docstring)."""

    seq: int
    report: protocol.Report


@dataclass
class ReportStream:
    """Reads the reports an attempt wrote to its folder, a little more at each call.

    Args:
        folder: the attempt's folder.
        labels: names of the extra values of ``#Auptimizer:v,x,y`` lines.
        track: read every ``#Auptimizer:`` line as an intermediate value too.

    Attributes:
        bad_report: why the last malformed report line was refused, if any.

    Example:
        >>> stream = ReportStream(Path("job-1/attempt-1"))
        >>> [n.seq for n in stream.read(at_end=True)]  # doctest: +SKIP
        [0, 3, 1]
    """

    folder: Path
    labels: list[str] = field(default_factory=list)
    track: bool = False
    bad_report: str | None = field(default=None, init=False)
    _offsets: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _partial: dict[str, bytes] = field(default_factory=dict, init=False, repr=False)
    _counts: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _steps: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def read(self, *, at_end: bool = False) -> list[Numbered]:
        """The reports written since the last call, source by source.

        Args:
            at_end: the attempt's process is gone, so a last line without a newline is
                read too (else it waits for its newline); a kill may have cut it, so it
                is skipped, not refused, when malformed.
        """
        found: list[Numbered] = []
        for index, name in enumerate(SOURCES):
            data, self._offsets[name] = _tail(self.folder / name, self._offsets.get(name, 0))
            *lines, rest = (self._partial.get(name, b"") + data).split(b"\n")
            self._partial[name] = b"" if at_end else rest
            complete = [(line, True) for line in lines]
            cut = [(rest, False)] if at_end and rest.strip() else []
            for line, strict in complete + cut:
                report = self._parse(line.decode("utf-8", errors="replace"), from_file=name == SOURCES[0],
                                     strict=strict)
                if report is None:
                    continue
                count = self._counts.get(name, 0)
                self._counts[name] = count + 1
                seq = count * len(SOURCES) + index
                found += [Numbered(seq, r) for r in self._expand(name, line, report)
                          if r.kind != "intermediate" or math.isfinite(r.value)]
        return found

    def _expand(self, name: str, line: bytes, report: protocol.Report) -> list[protocol.Report]:
        """The report, preceded by its intermediate value when it is a tracked ``#Auptimizer:`` line."""
        if not self.track or not line.strip().startswith(protocol.AUPTIMIZER_PREFIX.encode()):
            return [report]
        step = self._steps.get(name, 0) + 1
        self._steps[name] = step
        return [protocol.Report("intermediate", value=report.value, step=step, extra=dict(report.extra)), report]

    def _parse(self, line: str, *, from_file: bool, strict: bool) -> protocol.Report | None:
        stripped = line.strip()
        if not from_file and not stripped.startswith((protocol.PREFIX, protocol.AUPTIMIZER_PREFIX)):
            return None
        try:
            return protocol.parse_line(stripped, self.labels)
        except protocol.ProtocolError as exc:
            if strict:
                self.bad_report = f"bad report: {exc}"
            return None


def _tail(path: Path, offset: int) -> tuple[bytes, int]:
    try:
        if os.stat(path).st_size <= offset:
            return b"", offset
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return b"", offset
    return data, offset + len(data)
