"""ConfigSpace in DeepHyper problems: the hyperparameter objects ``add_hyperparameter``
returns, and conditions on them turned into tunelab's ``when``.

DeepHyper builds its problem on ConfigSpace, and scripts build conditions from what
``add_hyperparameter`` returned (``NotEqualsCondition(x_int, x_cat, "c")``). When
ConfigSpace is installed, :func:`to_configspace` gives that object; the conditions read
back by their attributes are:

====================================  ===========================================
ConfigSpace                           tunelab ``when`` of the child
====================================  ===========================================
``EqualsCondition(child, parent, v)``  ``{parent: v}``
``InCondition(child, parent, vs)``     ``{parent: vs}``
``NotEqualsCondition(child, p, v)``    ``{p: every other value of p}`` (p a choice or ordinal)
``AndConjunction(c1, c2, ...)``        the parents of every part (all must hold)
====================================  ===========================================
"""

from __future__ import annotations

from typing import Any

from tunelab.exceptions import UserError


def to_configspace(entry: dict[str, Any]) -> Any:
    """The ConfigSpace hyperparameter for a ``parameter_config`` entry, or the entry itself
    when ConfigSpace is not installed."""
    try:
        import ConfigSpace as cs
    except ImportError:
        return entry
    name, kind = entry["name"], entry["type"]
    if kind == "int":
        return cs.UniformIntegerHyperparameter(name, *entry["range"], log=entry.get("log", False))
    if kind == "float" and entry.get("prior") == "normal":
        sigma = entry["sigma"]
        return cs.NormalFloatHyperparameter(name, entry["mu"], sigma, entry["mu"] - 10 * sigma, entry["mu"] + 10 * sigma)
    if kind == "float":
        return cs.UniformFloatHyperparameter(name, *entry["range"], log=entry.get("log", False))
    if kind == "choice":
        return cs.CategoricalHyperparameter(name, entry["range"])
    if kind == "ordinal":
        return cs.OrdinalHyperparameter(name, entry["range"])
    return cs.Constant(name, entry["value"])


def condition_when(condition: Any, entries: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The child's name and its ``when`` for a ConfigSpace condition.

    Raises:
        UserError: a condition kind tunelab's ``when`` cannot say, or an unknown name.
    """
    kind = type(condition).__name__
    if kind == "AndConjunction":
        parts = [condition_when(part, entries) for part in condition.components]
        children = {child for child, _ in parts}
        if len(children) != 1:
            raise UserError(f"HpProblem.add_condition: an AndConjunction must concern one child, got {sorted(children)}")
        return parts[0][0], {k: v for _, when in parts for k, v in when.items()}
    child, parent = _name(condition, "child", entries), _name(condition, "parent", entries)
    if kind == "EqualsCondition":
        return child, {parent: condition.value}
    if kind == "InCondition":
        return child, {parent: list(condition.values)}
    if kind == "NotEqualsCondition" and entries[parent]["type"] in ("choice", "ordinal"):
        return child, {parent: [v for v in entries[parent]["range"] if v != condition.value]}
    raise UserError(f"HpProblem.add_condition: {kind} on {parent!r} is not supported; use EqualsCondition, "
                    "InCondition, NotEqualsCondition (on a categorical or ordinal parent) or AndConjunction")


def _name(condition: Any, role: str, entries: dict[str, dict[str, Any]]) -> str:
    name = getattr(getattr(condition, role, None), "name", None)
    if name not in entries:
        raise UserError(f"HpProblem.add_condition: the {role} {name!r} is not a hyperparameter of this problem; "
                        "add it first")
    return name


__all__ = ["condition_when", "to_configspace"]
