"""The wire format between a running trial and tunelab.

A trial reports by appending one JSON object per line to the file named by the
environment variable :data:`ENV_REPORT_FILE` (``events.jsonl`` in the job's folder).
When that variable is absent (a script run by hand, or a remote host that only returns
stdout), the same object is printed on stdout as one line starting with :data:`PREFIX`.
Auptimizer's ``#Auptimizer:<value>[,<extra>...]`` lines are read too.

Every record has the key :data:`KIND`; the other keys depend on the kind:

* ``{"kind": "final", "value": float, "extra": {label: float}}`` (``value`` may be left
  out when ``extra`` names every objective of a multi-objective experiment)
* ``{"kind": "intermediate", "step": int, "value": float}``
* ``{"kind": "extra", "extra": {label: float}}``

This module uses only the standard library: the trial side imports it.
"""

from __future__ import annotations

import json
import math
import os

PREFIX = "#tunelab:"
"""Prefix of a report printed on stdout when no report file is set."""

AUPTIMIZER_PREFIX = "#Auptimizer:"
"""Prefix of Auptimizer's result line: ``#Auptimizer:<value>[,<extra>,...]``."""

KIND = "kind"
"""Key naming the record kind: one of :data:`KINDS`."""

KINDS = ("final", "intermediate", "extra")

ENV_CONFIG = "TUNELAB_CONFIG"
"""Path of the job's ``config.json`` (also passed as ``argv[1]``)."""

ENV_REPORT_FILE = "TUNELAB_REPORT_FILE"
"""Path of the ``events.jsonl`` file the trial appends reports to."""

ENV_STOP_FILE = "TUNELAB_STOP_FILE"
"""Path whose existence tells the trial that tunelab wants it to stop."""

ENV_JOB_ID = "TUNELAB_JOB_ID"
"""The job's id in storage."""

ENV_EXPERIMENT = "TUNELAB_EXPERIMENT"
"""The experiment's name."""

ENV_MODEL_DIR = "TUNELAB_MODEL_DIR"
"""Folder where a ``save_model`` run should write its model."""

ENV_CHECKPOINT_DIR = "TUNELAB_CHECKPOINT_DIR"
"""Folder that belongs to the job's configuration, kept across budgets."""

ENV_BUDGET = "TUNELAB_BUDGET"
"""The job's budget (multi-fidelity), also in the config under the budget name."""

ENV_OBJECTIVES = "TUNELAB_OBJECTIVES"
"""The objectives' names, comma-separated, when the experiment has several: a returned
tuple or list reports them in this order."""

def objective_names() -> list[str]:
    """The job's objectives (from :data:`ENV_OBJECTIVES`), empty with a single objective."""
    return [name for name in os.environ.get(ENV_OBJECTIVES, "").split(",") if name]


RESERVED = "tunelab_"
"""Config keys starting with this prefix are set by tunelab, never by the space."""


class ProtocolError(ValueError):
    """A report line or record is malformed."""


class Report:
    """One parsed report from a trial.

    A plain class rather than a dataclass: every training script imports this module,
    and ``dataclasses`` (with the ``inspect`` it pulls in) would double that import's cost.
    """

    __slots__ = ("kind", "value", "step", "extra")

    def __init__(self, kind: str, value: float | None = None, step: int | None = None,
                 extra: dict[str, float] | None = None) -> None:
        self.kind, self.value, self.step = kind, value, step
        self.extra: dict[str, float] = {} if extra is None else extra

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Report) and self._fields() == other._fields()

    __hash__ = None  # mutable, compared by value

    def __repr__(self) -> str:
        return f"Report(kind={self.kind!r}, value={self.value!r}, step={self.step!r}, extra={self.extra!r})"

    def _fields(self) -> tuple:
        return self.kind, self.value, self.step, self.extra

    def to_json(self) -> str:
        """One JSON line, the wire form of this report."""
        record: dict = {KIND: self.kind}
        if self.value is not None:
            record["value"] = self.value
        if self.step is not None:
            record["step"] = self.step
        if self.extra:
            record["extra"] = self.extra
        return json.dumps(record, allow_nan=True)


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(str(value).strip())
        except ValueError:
            raise ProtocolError(f"{what} must be a number, got {value!r}") from None
    try:
        return float(value)
    except OverflowError:
        raise ProtocolError(f"{what} must fit in a float, got an integer of {value.bit_length()} bits") from None


def parse_record(record: dict) -> Report:
    """Validate one decoded record and return it as a :class:`Report`.

    Raises:
        ProtocolError: the record is not a known kind or lacks a field.
    """
    if not isinstance(record, dict):
        raise ProtocolError(f"a report must be a JSON object, got {record!r}")
    kind = record.get(KIND)
    if kind not in KINDS:
        raise ProtocolError(f"report kind must be one of {KINDS}, got {kind!r}")
    extra = record.get("extra") or {}
    if not isinstance(extra, dict):
        raise ProtocolError(f"report extra must be an object, got {extra!r}")
    extra = {str(k): _number(v, f"extra[{k!r}]") for k, v in extra.items()}
    if kind == "extra" or kind == "final" and record.get("value") is None and extra:
        return Report(kind, extra=extra)
    value = _number(record.get("value"), "report value")
    step = None
    if kind == "intermediate":
        raw_step = record.get("step")
        if isinstance(raw_step, bool) or not isinstance(raw_step, (int, float)):
            raise ProtocolError(f"intermediate report needs an integer step, got {raw_step!r}")
        step = int(raw_step)
    return Report(kind, value=value, step=step, extra=extra)


def parse_line(line: str, labels: list[str] | None = None) -> Report | None:
    """Parse one output line; ``None`` when it is not a report.

    Args:
        line: a line of the report file or of the trial's stdout/stderr.
        labels: names for the extra values of an ``#Auptimizer:v,x,y`` line.

    Raises:
        ProtocolError: the line is a report but malformed.
    """
    text = line.strip()
    if text.startswith("{"):
        try:
            record = json.loads(text)
        except ValueError as exc:  # JSONDecodeError, or an integer too long to read
            raise ProtocolError(f"report is not valid JSON: {text[:80]!r}") from exc
        return parse_record(record)
    if text.startswith(PREFIX):
        return parse_line(text[len(PREFIX):], labels)
    if text.startswith(AUPTIMIZER_PREFIX):
        parts = [p for p in text[len(AUPTIMIZER_PREFIX):].split(",")]
        value = _number(parts[0], "#Auptimizer value")
        names = list(labels or [])
        extra = {}
        for i, raw in enumerate(parts[1:]):
            name = names[i] if i < len(names) else f"extra{i + 1}"
            extra[name] = _number(raw, f"#Auptimizer extra {name}")
        return Report("final", value=value, extra=extra)
    return None


def is_finite(value: float | None) -> bool:
    """True for a real, finite number."""
    return value is not None and math.isfinite(value)
