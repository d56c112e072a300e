"""Several objectives per job: which reported values they are and what a job lacks.

A job of a multi-objective experiment reports each objective as a named value
(``trial.report(accuracy=0.93, latency_ms=12)``, the labels of an ``#Auptimizer:`` line,
NNI's dict, a returned dict or tuple). A report's main value stands for the first
objective when no value carries that objective's name, so Auptimizer's
``#Auptimizer:0.93,12`` with ``multi_res_labels: ["latency_ms"]`` reports both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class MissingObjective(ValueError):
    """A finished job's report lacks an objective, or gives one that is not a finite number."""


def objective_values(names: Sequence[str], value: float | None, extra: dict[str, float]) -> dict[str, float]:
    """Every objective's value, by name, from a job's main value and named values.

    Raises:
        MissingObjective: a value is missing or not finite; the message is the job's error.

    Example:
        >>> objective_values(["accuracy", "latency_ms"], 0.9, {"latency_ms": 12.0})
        {'accuracy': 0.9, 'latency_ms': 12.0}
    """
    out: dict[str, float] = {}
    for i, name in enumerate(names):
        found = extra.get(name, value if i == 0 else None)
        if found is None:
            raise MissingObjective(f"no value for objective {name!r}: report it by name, like "
                                   f"tunelab.trial.report({name}=...)")
        if not math.isfinite(found):
            raise MissingObjective(f"bad result: objective {name!r} is {found!r}, not a finite number")
        out[name] = float(found)
    return out


def losses_of(values: dict[str, float] | None, names: Sequence[str], signs: Sequence[float]) -> tuple[float, ...] | None:
    """The objectives as a tuple to minimise (each signed by its direction), or None."""
    if not values or any(name not in values for name in names):
        return None
    return tuple(sign * values[name] for name, sign in zip(names, signs, strict=True))
