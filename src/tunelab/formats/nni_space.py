"""NNI search spaces (``{"name": {"_type": ..., "_value": [...]}}``) as tunelab parameters.

Every ``_type`` keeps NNI's exact meaning:

==============  =====================  ===================================================
NNI ``_type``   ``_value``             native ``parameter_config`` entry
==============  =====================  ===================================================
choice          ``[v1, v2, ...]``      ``{"type": "choice", "range": [v1, v2, ...]}``
randint         ``[lower, upper]``     ``{"type": "int", "range": [lower, upper - 1]}``
                                       (upper is exclusive)
uniform         ``[low, high]``        ``{"type": "float", "range": [low, high]}``
quniform        ``[low, high, q]``     ``clip(round(x / q) * q, low, high)``: ``step: q``
                                       when low and high are multiples of q (the same
                                       lattice), else ``round_to: q``
loguniform      ``[low, high]``        ``{"type": "float", "range": [...], "log": true}``
qloguniform     ``[low, high, q]``     ``log: true, round_to: q``
normal          ``[mu, sigma]``        ``{"type": "float", "prior": "normal", "mu", "sigma"}``
qnormal         ``[mu, sigma, q]``     normal + ``round_to: q``
lognormal       ``[mu, sigma]``        normal + ``log: true`` (``log(x)`` is normal)
qlognormal      ``[mu, sigma, q]``     lognormal + ``round_to: q``
==============  =====================  ===================================================

Nested choices become conditional parameters with flat names: the option
``{"_name": "Conv", "kernel": {...}}`` of ``layer`` gives ``layer`` (a choice of the
``_name`` values) and ``layer/Conv/kernel``, active only when ``layer == "Conv"``. The
older cascading form ``["Conv", {"_type": "choice", ...}]`` gives ``layer/Conv``. The
``layout`` records how to fold a flat config back into NNI's nested value (see
:func:`tunelab.compat.nni.nest_config`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tunelab.exceptions import UserError

_NUMERIC_ARITY = {"randint": 2, "uniform": 2, "quniform": 3, "loguniform": 2, "qloguniform": 3,
                  "normal": 2, "qnormal": 3, "lognormal": 2, "qlognormal": 3}
TYPES = ("choice", *_NUMERIC_ARITY)
"""Every NNI ``_type`` tunelab reads."""


@dataclass
class NniSpace:
    """A translated NNI search space.

    Attributes:
        parameter_config: native parameter entries, parents before their children.
        layout: for each flat name that NNI nests, how to fold it back (JSON).
    """

    parameter_config: list[dict[str, Any]] = field(default_factory=list)
    layout: dict[str, dict[str, Any]] = field(default_factory=dict)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _numbers(values: list[Any], count: int, where: str, form: str) -> list[float]:
    if not isinstance(values, list) or len(values) != count or not all(_is_number(v) for v in values):
        raise UserError(f"{where}._value: expected {form}, got {values!r}")
    return values


def _multiple(value: float, q: float) -> bool:
    ratio = value / q
    return abs(ratio - round(ratio)) < 1e-9


def _bounded(name: str, kind: str, values: list[Any], where: str) -> dict[str, Any]:
    quantized = kind.startswith("q")
    form = "[low, high, q]" if quantized else "[low, high]"
    numbers = _numbers(values, 3 if quantized else 2, where, form)
    low, high = numbers[0], numbers[1]
    if not low < high:
        raise UserError(f"{where}._value: `low < high` must hold, got {values!r}")
    entry: dict[str, Any] = {"name": name, "type": "float", "range": [low, high]}
    if "log" in kind:
        if low <= 0:
            raise UserError(f"{where}._value: {kind} needs low > 0, got {values!r}")
        entry["log"] = True
    if quantized:
        q = numbers[2]
        if not q > 0:
            raise UserError(f"{where}._value: q must be positive, got {values!r}")
        aligned = kind == "quniform" and _multiple(low, q) and _multiple(high, q)
        entry["step" if aligned else "round_to"] = q
    return entry


def _normal(name: str, kind: str, values: list[Any], where: str) -> dict[str, Any]:
    quantized = kind.startswith("q")
    numbers = _numbers(values, 3 if quantized else 2, where, "[mu, sigma, q]" if quantized else "[mu, sigma]")
    if not numbers[1] > 0:
        raise UserError(f"{where}._value: sigma must be positive, got {values!r}")
    entry: dict[str, Any] = {"name": name, "type": "float", "prior": "normal", "mu": numbers[0], "sigma": numbers[1]}
    if "log" in kind:
        entry["log"] = True
    if quantized:
        if not numbers[2] > 0:
            raise UserError(f"{where}._value: q must be positive, got {values!r}")
        entry["round_to"] = numbers[2]
    return entry


def _randint(name: str, values: list[Any], where: str) -> dict[str, Any]:
    lower, upper = _numbers(values, 2, where, "[lower, upper) integers")
    if not (float(lower).is_integer() and float(upper).is_integer()) or not lower < upper:
        raise UserError(f"{where}._value: randint needs integers lower < upper (upper excluded), got {values!r}")
    if upper - lower == 1:
        return {"name": name, "type": "constant", "value": int(lower)}
    return {"name": name, "type": "int", "range": [int(lower), int(upper) - 1]}


class _Translator:
    """Walks an NNI space depth-first, parents before children."""

    def __init__(self) -> None:
        self.space = NniSpace()

    def add(self, name: str, path: list[str], node: Any, when: dict[str, list[Any]] | None, where: str) -> None:
        if not isinstance(node, dict) or "_type" not in node or "_value" not in node:
            raise UserError(f"{where}: expected {{\"_type\": ..., \"_value\": [...]}}, got {node!r}")
        kind, values = node["_type"], node["_value"]
        if kind == "choice":
            self._choice(name, path, values, when, where)
            return
        if kind == "randint":
            entry = _randint(name, values, where)
        elif kind in _NUMERIC_ARITY and "normal" in kind:
            entry = _normal(name, kind, values, where)
        elif kind in _NUMERIC_ARITY:
            entry = _bounded(name, kind, values, where)
        else:
            raise UserError(f"{where}._type: unknown type {kind!r}; NNI's types are {', '.join(TYPES)}")
        self._append(entry, when)
        self._place(name, path)

    def _place(self, name: str, path: list[str]) -> None:
        if path != [name]:
            self.space.layout[name] = {"path": path}

    def _append(self, entry: dict[str, Any], when: dict[str, list[Any]] | None) -> None:
        if when:
            entry["when"] = when
        self.space.parameter_config.append(entry)

    def _choice(self, name: str, path: list[str], values: Any, when: dict | None, where: str) -> None:
        if not isinstance(values, list) or not values:
            raise UserError(f"{where}._value: a choice needs a non-empty list of options, got {values!r}")
        nested = [isinstance(v, dict) and "_name" in v for v in values]
        cascading = [isinstance(v, list) for v in values]
        for i, option in enumerate(values):
            if not nested[i] and isinstance(option, dict) and any(
                    isinstance(child, dict) and "_type" in child for child in option.values()):
                raise UserError(f"{where}._value[{i}]: a nested option needs `_name`, like "
                                f"{{\"_name\": \"option{i}\", ...}}; add it")
        if any(nested):
            if not all(nested):
                raise UserError(f"{where}._value: a nested choice needs every option as {{\"_name\": ...}}, "
                                f"got {values!r}")
            self._nested(name, path, values, when, where)
        elif any(cascading):
            self._cascading(name, path, values, when, where)
        else:
            self._append({"name": name, "type": "choice", "range": list(values)}, when)
            self._place(name, path)

    def _nested(self, name: str, path: list[str], options: list[dict], when: dict | None, where: str) -> None:
        labels = [option["_name"] for option in options]
        if len(set(map(str, labels))) != len(labels):
            raise UserError(f"{where}._value: `_name` values must be unique, got {labels!r}")
        self._append({"name": name, "type": "choice", "range": labels}, when)
        self.space.layout[name] = {"path": path, "nested": True}
        for i, option in enumerate(options):
            for key, child in option.items():
                if key != "_name":
                    self.add(f"{name}/{option['_name']}/{key}", [*path, key], child,
                             {name: [option["_name"]]}, f"{where}._value[{i}].{key}")

    def _cascading(self, name: str, path: list[str], options: list[Any], when: dict | None, where: str) -> None:
        labels = []
        for i, option in enumerate(options):
            if isinstance(option, list):
                if len(option) != 2 or isinstance(option[0], (list, dict)):
                    raise UserError(f"{where}._value[{i}]: a cascading option is [label, {{\"_type\": ...}}], "
                                    f"got {option!r}")
                labels.append(option[0])
            else:
                labels.append(option)
        self._append({"name": name, "type": "choice", "range": labels}, when)
        self._place(name, path)
        for i, option in enumerate(options):
            if isinstance(option, list):
                child = f"{name}/{option[0]}"
                before = len(self.space.parameter_config)
                self.add(child, path, option[1], {name: [option[0]]}, f"{where}._value[{i}][1]")
                if len(self.space.parameter_config) != before + 1 or self.space.layout[child].get("nested"):
                    raise UserError(f"{where}._value[{i}][1]: a cascading sub-space must be one plain parameter; "
                                    f"use the `_name` form to nest deeper")
                entry = self.space.parameter_config[-1]
                self.space.layout[child] = {"path": path, "cascade": entry.get("range") if
                                            entry["type"] == "choice" else None}


def translate_search_space(doc: Any, where: str = "searchSpace") -> NniSpace:
    """Translate an NNI search space into native parameters and a nesting layout.

    Args:
        doc: the search space object (parsed JSON or YAML).
        where: how error messages name the space (a file name or config key).

    Raises:
        UserError: one line naming the parameter, the bad value and the fix.
    """
    if not isinstance(doc, dict) or not doc:
        raise UserError(f"{where}: expected an object of parameters like "
                        f"{{\"lr\": {{\"_type\": \"loguniform\", \"_value\": [1e-4, 0.1]}}}}, got {doc!r}")
    translator = _Translator()
    for name, node in doc.items():
        translator.add(str(name), [str(name)], node, None, f"{where}.{name}")
    return translator.space
