"""Studio.ml's sweeps: ``--hyperparam`` strings, script substitution and metric reading.

Studio.ml describes a sweep on its command line::

    studio run --hyperparam=lr=1e-5:l5:0.1 --hyperparam=layers=2,5,6 train.py 30

and runs a copy of the working directory per configuration, in which the script's
right-hand-side uses of ``lr`` and ``layers`` are replaced by the values. This module
translates that into tunelab's spec and offers the pieces the job side needs
(:func:`substitute`, :func:`read_scalars`); :mod:`tunelab.formats.studio_runner` runs a job.

Grid forms (the default ``--optimizer grid``), with the values Studio.ml's parser gives:

* ``lr=0.1``: one value.
* ``layers=2,5,6``: a list.
* ``n=0:3`` and ``n=:3``: ``0, 1, 2, 3`` (step 1 while below ``end + 1``; an empty start is 0).
* ``lr=0.01:0.01:0.1``: start:step:end, values while below ``end + step/2``.
* ``lr=1e-5:10:0.1``: when the middle field is an integer larger than ``|end - start|``
  it is a count: 10 evenly spaced points. ``u10`` always means a count (as documented).
* ``lr=1e-5:l5:0.1`` or ``lr=1e-5:5l:0.1``: 5 log-spaced points ``1e-5, 1e-4, 1e-3, 0.01, 0.1``.
* Fields after the third are ignored (with a note), as Studio.ml does.

Plugin-optimizer forms (any ``--optimizer`` other than ``grid``): ``min:max``,
``min:max:flags`` and ``min:max:length:flags`` with flags ``u`` (unbounded), ``r``
(random initial value instead of the middle), ``l`` (log scale) and ``a`` (an array of
``length`` values; requires the length field).

This module uses only the standard library: the job side imports it.
"""

from __future__ import annotations

import ast
import io
import math
import os
import random
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunelab.exceptions import UserError

GRID = "grid"
"""Studio.ml's default optimizer: every combination of the grid values."""

_FLAGS = "ualr"
_ARRAY_NAME = re.compile(r"^(?P<base>.+)\[(?P<index>\d+)\]$")


@dataclass
class SweepParam:
    """One ``--hyperparam`` translated into tunelab parameters.

    Attributes:
        name: the script variable the values replace.
        entries: ``parameter_config`` entries (one per array element for flag ``a``).
        start: the initial value of each entry for plugin optimizers (middle or random).
        notes: warnings to show the user (a meaning tunelab cannot reproduce exactly).
    """

    name: str
    entries: list[dict[str, Any]]
    start: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def grid_size(self) -> int:
        """Number of values of a grid parameter (1 for a constant)."""
        entry = self.entries[0]
        return len(entry["range"]) if entry["type"] == "ordinal" else 1


def _bad(text: str, why: str, fix: str) -> UserError:
    return UserError(f"--hyperparam {text!r}: {why}; {fix}")


def _number(raw: str, text: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise _bad(text, f"{raw!r} is not a number", "write numbers like 0.01, 1e-5 or 3") from None
    if not math.isfinite(value):
        raise _bad(text, f"{raw!r} is not a finite number", "use finite bounds")
    return value


def _is_int_literal(raw: str) -> bool:
    return re.fullmatch(r"\s*[+-]?\d+\s*", raw) is not None


def _tidy(values: list[float], integral: bool) -> list[int | float]:
    """Round away float noise (0.30000000000000004); ints when every input was one."""
    tidy = [float(f"{v:.12g}") for v in values]
    if integral and all(v.is_integer() for v in tidy):
        return [int(v) for v in tidy]
    return tidy


def _linspace(start: float, end: float, count: int) -> list[float]:
    if count == 1:
        return [start]
    return [start + (end - start) * i / (count - 1) for i in range(count)]


def _arange(start: float, stop: float, step: float, text: str) -> list[float]:
    """numpy's ``arange``: ``start, start+step, ...`` while short of ``stop`` (excluded)."""
    count = math.ceil((stop - start) / step) if step else 0
    if count <= 0:
        raise _bad(text, "the range is empty", "give start <= end, and a step with the sign of end - start")
    return [start + i * step for i in range(count)]


_COUNT = re.compile(r"^(?P<before>[lu]?)(?P<count>\d+)(?P<after>[lu]?)$")
"""A point count with its spacing flag on either side: ``l5``, ``5l``, ``u10``."""


def _counted(start: float, end: float, middle: str, text: str) -> list[float]:
    """Values of ``start:l5:end`` (log-spaced) and ``start:u5:end`` (evenly spaced)."""
    match = _COUNT.match(middle)
    if not match or bool(match["before"]) == bool(match["after"]):
        raise _bad(text, f"{middle!r} is neither a step nor a point count",
                   "write a number like 0.01, or a count like l5 or 5l (log) or u5 (even)")
    count, mode = int(match["count"]), match["before"] or match["after"]
    if count < 1:
        raise _bad(text, f"{middle!r} needs a positive point count", f"write e.g. {mode}5")
    if mode == "u":
        return _linspace(start, end, count)
    if start <= 0 or end <= 0:
        raise _bad(text, "a log grid needs positive ends", "use ends > 0, like 1e-5:l5:0.1")
    return [math.exp(v) for v in _linspace(math.log(start), math.log(end), count)]


def _grid_range(fields: list[str], text: str) -> tuple[list[float], bool]:
    """Values of ``a:b``, ``:b``, ``a:step:b``, ``a:N:b``, ``a:lN:b``, ``a:Nl:b``, ``a:uN:b``.

    Studio.ml's rules: ``a:b`` steps by 1 from ``a`` while below ``b + 1``; a middle
    field that is an integer larger than ``|b - a|`` is a count of evenly spaced points,
    any other number a step, with values while below ``b + step/2``; fields after the
    third are ignored.
    """
    start = _number(fields[0], text) if fields[0].strip() else 0.0
    end_field = fields[1] if len(fields) == 2 else fields[2]
    end = _number(end_field, text)
    integral = (not fields[0].strip() or _is_int_literal(fields[0])) and _is_int_literal(end_field)
    if len(fields) == 2:
        return _arange(start, end + 1, 1.0, text), integral
    middle = fields[1].strip()
    try:
        step = float(middle)
    except ValueError:
        return _counted(start, end, middle, text), False
    if not math.isfinite(step):
        raise _bad(text, f"{middle!r} is not a finite number", "use a finite step or count")
    if step.is_integer() and step > abs(end - start):
        return _linspace(start, end, int(step)), False
    return _arange(start, end + 0.5 * step, step, text), integral and _is_int_literal(middle)


def _grid_values(spec: str, text: str) -> list[int | float]:
    if "," in spec:
        raws = spec.split(",")
        values = [_number(raw, text) for raw in raws]
        return _tidy(values, all(_is_int_literal(raw) for raw in raws))
    if ":" in spec:
        values, integral = _grid_range(spec.split(":"), text)
        return _tidy(values, integral)
    return _tidy([_number(spec, text)], _is_int_literal(spec))


def _grid_param(name: str, spec: str, text: str) -> SweepParam:
    values = list(dict.fromkeys(_grid_values(spec, text)))
    if len(values) == 1:
        entry: dict[str, Any] = {"name": name, "type": "constant", "value": values[0]}
    else:
        entry = {"name": name, "type": "ordinal", "range": values}
    notes = []
    if "," not in spec and spec.count(":") > 2:
        notes.append(f"--hyperparam {text!r}: a grid range has at most 3 fields; the fields after "
                     f"{':'.join(spec.split(':')[:3])!r} are ignored, as Studio.ml does")
    return SweepParam(name, [entry], start={name: values[len(values) // 2]}, notes=notes)


def _split_flags(fields: list[str], text: str) -> tuple[list[str], str]:
    if len(fields) == 2:
        return fields, ""
    flags = fields[-1].strip()
    if any(f not in _FLAGS for f in flags) or any(flags.count(f) > 1 for f in flags):
        raise _bad(text, f"flags {flags!r} are not a subset of {_FLAGS!r}",
                   "use u (unbounded), r (random init), l (log), a (array) once each")
    wanted = 4 if "a" in flags else 3
    if len(fields) != wanted:
        form = "min:max:length:flags" if "a" in flags else "min:max:flags"
        raise _bad(text, f"with flags {flags!r} the form is {form}", f"write e.g. {'0:1:10:a' if wanted == 4 else '0:1:l'}")
    return fields[:-1], flags


def _optimizer_param(name: str, spec: str, text: str, rng: random.Random) -> SweepParam:
    fields, flags = _split_flags(spec.split(":"), text)
    low, high = _number(fields[0], text), _number(fields[1], text)
    if low > high:
        raise _bad(text, f"min {low} is larger than max {high}", "swap the bounds")
    log = "l" in flags
    if log and low <= 0:
        raise _bad(text, f"flag l needs min > 0, got {low}", "use a positive min or drop the l flag")
    length = None
    if "a" in flags:
        if not fields[2].strip().isdigit() or int(fields[2]) < 1:
            raise _bad(text, f"array length {fields[2]!r} must be a positive integer", "write e.g. 0:1:10:a")
        length = int(fields[2])
    names = [name] if length is None else [f"{name}[{i}]" for i in range(length)]
    if low == high:
        entries = [{"name": n, "type": "constant", "value": low} for n in names]
    else:
        entries = [{"name": n, "type": "float", "range": [low, high], "log": log} for n in names]
    start = {n: _start_value(low, high, log, "r" in flags, rng) for n in names}
    notes = []
    if "u" in flags:
        notes.append(f"--hyperparam {text!r}: flag u (unbounded) is not supported; tunelab searches within [{low}, {high}]")
    return SweepParam(name, entries, start=start, notes=notes)


def _start_value(low: float, high: float, log: bool, randomize: bool, rng: random.Random) -> float:
    u = rng.random() if randomize else 0.5
    if log:
        return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    return low + u * (high - low)


def parse_hyperparam(text: str, optimizer: str = GRID, rng: random.Random | None = None) -> SweepParam:
    """Translate one ``name=values`` string.

    Under a plugin optimizer, values without ``:`` (a list or one value) stay discrete.

    Args:
        text: the ``--hyperparam`` value, like ``lr=1e-5:l5:0.1``.
        optimizer: ``grid`` for the grid forms, anything else for the optimizer forms.
        rng: source of the random initial values of flag ``r``.

    Raises:
        UserError: the string does not follow the grammar; the message names the fix.
    """
    name, sep, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    if not sep or not name.isidentifier() or not spec:
        raise _bad(text, "expected name=values with a Python variable name", "write e.g. lr=0.01:0.01:0.1")
    if optimizer == GRID or ":" not in spec:
        return _grid_param(name, spec, text)
    return _optimizer_param(name, spec, text, rng or random.Random(0))


def parse_metric(metric: str | None) -> tuple[str | None, str]:
    """Split ``--metric name[:final|:min|:max]`` into the scalar tag and ``last``/``min``/``max``.

    ``:final`` (Studio.ml's ``--help`` spelling) and no suffix both mean the last value.

    Raises:
        UserError: an unknown suffix.
    """
    if not metric:
        return None, "last"
    tag, sep, mode = metric.rpartition(":")
    if not sep:
        return metric, "last"
    if mode not in ("final", "min", "max") or not tag:
        raise UserError(f"--metric {metric!r}: the suffix must be :final, :min, :max or nothing; "
                        "write e.g. val_loss:min")
    return tag, "last" if mode == "final" else mode


_DURATION = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[dhms])")
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_max_duration(text: str) -> float:
    """Seconds of Studio.ml's ``--max-duration`` (``90``, ``5h``, ``48h2m10s``, ``1d 12h``).

    Raises:
        UserError: not a number of seconds nor a sequence of number-unit pairs.
    """
    raw = text.strip().lower()
    try:
        seconds = float(raw)
    except ValueError:
        pairs = list(_DURATION.finditer(raw))
        if not pairs or _DURATION.sub("", raw).strip():
            raise UserError(f"--max-duration {text!r}: expected seconds or a duration like 5h or 48h2m10s") from None
        seconds = sum(float(m["number"]) * _SECONDS[m["unit"]] for m in pairs)
    if not seconds > 0 or not math.isfinite(seconds):
        raise UserError(f"--max-duration {text!r}: the duration must be positive, like 30m")
    return seconds


def fitness_optional(optimizer: str, metric: str | None) -> bool:
    """Whether a job may end without an objective: a grid sweep with no ``--metric``.

    Studio.ml runs such a sweep for the script's own effects, so a script that prints no
    ``fitness:`` line still finishes. An optimizer needs a value from every job.
    """
    return optimizer == GRID and not metric


def build_spec(hyperparams: list[str], command: list[str], *, optimizer: str = GRID,
               metric: str | None = None, target: str | None = None, n_samples: int | None = None,
               n_parallel: int = 1, seed: int | None = None, name: str = "sweep",
               workingdir: str = ".") -> tuple[dict[str, Any], list[str]]:
    """The native spec dict of a Studio.ml sweep, and the notes to show the user.

    Args:
        hyperparams: the ``--hyperparam`` strings.
        command: the job's argv, with ``{config}`` where the config path goes.
        optimizer: ``grid`` (the sequence proposer) or a tunelab proposer name.
        metric: ``--metric``; without it the objective is the script's ``fitness:`` line,
            which a grid sweep's jobs may leave out (they finish with no result).
        target: ``min`` or ``max``; by default from the metric suffix (``max`` for fitness).
        n_samples: number of jobs (grid: at most the grid size; optimizers: default 20).
        n_parallel: jobs at once.
        seed: random seed of the proposer and of the ``r`` flag.
        name: the experiment name.
        workingdir: the folder whose copy each job runs in.

    Raises:
        UserError: a bad string, a repeated name or a plugin optimizer given as a file.
    """
    if not hyperparams:
        raise UserError("--hyperparam: give at least one, e.g. --hyperparam lr=0.01:0.01:0.1")
    if optimizer.endswith(".py") or os.sep in optimizer:
        raise UserError(f"--optimizer {optimizer!r}: plugin optimizer files are not supported; "
                        "use grid or a tunelab proposer name such as cmaes, tpe, gp or random")
    rng = random.Random(seed)
    params = [parse_hyperparam(text, optimizer, rng) for text in hyperparams]
    seen = [p.name for p in params]
    repeated = sorted({n for n in seen if seen.count(n) > 1})
    if repeated:
        raise UserError(f"--hyperparam: {repeated[0]!r} is given twice; give each name once")
    _tag, mode = parse_metric(metric)
    spec: dict[str, Any] = {
        "name": name,
        "command": command,
        "parameter_config": [entry for p in params for entry in p.entries],
        "target": target or ("max" if not metric or mode == "max" else "min"),
        "n_parallel": n_parallel,
        "workingdir": workingdir,
        "job_failure": {"ignore_fail": True},
        "require_result": not fitness_optional(optimizer, metric),
    }
    if seed is not None:
        spec["random_seed"] = seed
    if optimizer == GRID:
        size = math.prod(p.grid_size for p in params)
        spec.update(proposer="sequence", n_samples=min(size, n_samples or size))
    else:
        spec.update(proposer=optimizer, n_samples=n_samples or 20,
                    initial_configs=[{k: v for p in params for k, v in p.start.items()}])
    return spec, [note for p in params for note in p.notes]


# --- substitution ---------------------------------------------------------------------

def group_arrays(config: dict[str, Any]) -> dict[str, Any]:
    """Fold array elements ``lr[0]``, ``lr[1]`` of a config back into ``lr = [...]``."""
    values: dict[str, Any] = {}
    arrays: dict[str, dict[int, Any]] = {}
    for key, value in config.items():
        match = _ARRAY_NAME.match(key)
        if match:
            arrays.setdefault(match["base"], {})[int(match["index"])] = value
        else:
            values[key] = value
    for base, items in arrays.items():
        values[base] = [items[i] for i in sorted(items)]
    return values


def _reads(source: str, names: set[str]) -> list[tuple[int, int, str]]:
    """(line, character column, name) of every read (not assignment) of ``names``."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise UserError(f"script: cannot parse line {exc.lineno}: {exc.msg}; fix the syntax error") from None
    lines = io.StringIO(source).readlines()
    return [(node.lineno, len(lines[node.lineno - 1].encode("utf-8")[:node.col_offset].decode("utf-8")), node.id)
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and node.id in names and isinstance(node.ctx, ast.Load)]


def substitute(source: str, values: dict[str, Any]) -> str:
    """Replace right-hand-side uses of each name by its value, Studio.ml's way.

    Only reads of the variable change (found in the syntax tree, including those inside
    f-strings): assignments (``lr = 0.1``, ``lr += 1``), keyword names (``f(lr=lr)``
    keeps its first ``lr``), attributes (``opt.lr``), strings and comments stay as they
    are. Values are written as Python literals.

    Args:
        source: the script's text.
        values: variable name -> value.

    Raises:
        UserError: the script is not valid Python.
    """
    lines = io.StringIO(source).readlines()
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    edits = sorted(((starts[line - 1] + col, name) for line, col, name in _reads(source, set(values))), reverse=True)
    for begin, name in edits:
        source = source[:begin] + _literal(values[name]) + source[begin + len(name):]
    return source


def _literal(value: Any) -> str:
    text = repr(value)
    return f"({text})" if isinstance(value, (int, float)) and text.startswith("-") else text


# --- TensorBoard event files ------------------------------------------------------------

_DT_FLOAT, _DT_DOUBLE, _DT_INT32, _DT_INT64 = 1, 2, 3, 9


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """Decode one protobuf message into (field number, wire type, raw value) triples."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, wire, value))
    return out


def _tensor_scalar(data: bytes) -> float | None:
    """The single number held by a TensorProto (TF2 writes scalars this way)."""
    dtype, numbers, content = None, [], b""
    for number, wire, value in _fields(data):
        if number == 1:
            dtype = value
        elif number == 4:
            content = value
        elif number == 5:
            numbers += list(struct.unpack(f"<{len(value) // 4}f", value)) if wire == 2 else [struct.unpack("<f", value)[0]]
        elif number == 6:
            numbers += list(struct.unpack(f"<{len(value) // 8}d", value)) if wire == 2 else [struct.unpack("<d", value)[0]]
        elif number in (7, 10) and wire == 0:
            numbers.append(float(value))
    if content:
        formats = {_DT_FLOAT: "<f", _DT_DOUBLE: "<d", _DT_INT32: "<i", _DT_INT64: "<q"}
        fmt = formats.get(dtype or 0)
        if fmt and len(content) == struct.calcsize(fmt):
            numbers.append(float(struct.unpack(fmt, content)[0]))
    return numbers[0] if len(numbers) == 1 else None


def _summary_scalars(data: bytes) -> list[tuple[str, float]]:
    found = []
    for number, _wire, value in _fields(data):
        if number != 1:
            continue
        tag, scalar = "", None
        for field_number, wire, raw in _fields(value):
            if field_number == 1:
                tag = raw.decode("utf-8", "replace")
            elif field_number == 2 and wire == 5:
                scalar = struct.unpack("<f", raw)[0]
            elif field_number == 8:
                scalar = _tensor_scalar(raw)
        if scalar is not None:
            found.append((tag, scalar))
    return found


def _records(data: bytes) -> list[bytes]:
    """Split TFRecord framing: u64 length, u32 crc, payload, u32 crc (a torn tail is dropped)."""
    records, pos = [], 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack("<Q", data[pos:pos + 8])
        end = pos + 12 + length + 4
        if end > len(data):
            break
        records.append(data[pos + 12:pos + 12 + length])
        pos = end
    return records


def read_event_file(path: str | Path) -> list[tuple[float, int, str, float]]:
    """Scalars of one TensorBoard event file as ``(wall_time, step, tag, value)``.

    Reads both the classic ``simple_value`` form (PyTorch, tensorboardX, TF1) and the
    TF2 form where a scalar is a one-element tensor.
    """
    scalars = []
    for record in _records(Path(path).read_bytes()):
        wall_time, step, summary = 0.0, 0, None
        for number, _wire, value in _fields(record):
            if number == 1:
                wall_time = struct.unpack("<d", value)[0]
            elif number == 2:
                step = value
            elif number == 5:
                summary = value
        if summary is not None:
            scalars += [(wall_time, step, tag, v) for tag, v in _summary_scalars(summary)]
    return scalars


def read_scalars(folder: str | Path, tag: str) -> list[float]:
    """Every value of scalar ``tag`` in the event files under ``folder``, in time order.

    Keras writes ``val_loss`` as ``epoch_loss`` under ``validation/``; a tag with a
    ``/`` matches the end of the folder path too, so ``validation/epoch_loss`` picks
    that one.
    Symbolic links to folders are not followed.
    """
    found = []
    for root, _dirs, files in os.walk(folder):
        for filename in files:
            if "tfevents" not in filename:
                continue
            path = Path(root, filename)
            prefix = path.parent.relative_to(folder).as_posix()
            for wall_time, step, name, value in read_event_file(path):
                full = f"{prefix}/{name}"
                if name == tag or full == tag or full.endswith(f"/{tag}"):
                    found.append((wall_time, step, value))
    return [value for _t, _s, value in sorted(found)]


def aggregate(values: list[float], mode: str) -> float:
    """The ``last``, ``min`` or ``max`` of a metric's values."""
    return {"last": values[-1], "min": min(values), "max": max(values)}[mode]


__all__ = [
    "GRID",
    "SweepParam",
    "aggregate",
    "build_spec",
    "fitness_optional",
    "group_arrays",
    "parse_hyperparam",
    "parse_max_duration",
    "parse_metric",
    "read_event_file",
    "read_scalars",
    "substitute",
]
