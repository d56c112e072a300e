"""DeepHyper's ``HpProblem``: parameter types inferred from the range, as DeepHyper does.

DeepHyper's rules (``deephyper/hpo/_problem.py``, ``check_hyperparameter``):

=====================================  ===================================
range                                  tunelab parameter
=====================================  ===================================
``(1, 10)`` all ``int``                int (both ends included)
``(0.0, 1)`` any ``float``             float
``(1e-4, 1.0, "log-uniform")``         float (or int) on a log scale
``(0.0, 1.0, "uniform")``              float, linear
``["relu", "tanh"]`` any str or bool   choice (DeepHyper's categorical)
``[16, 32, 64]`` all int or float      ordinal
``{"mu": 0.0, "sigma": 1.0}``          float with a normal prior (an int mu is refused)
``0.5`` (a scalar)                     constant (tunelab accepts it; DeepHyper rejects it)
=====================================  ===================================

A list is never a range: ``[0, 10]`` is the ordinal ``{0, 10}``, as in DeepHyper.

Example:
    >>> problem = HpProblem()
    >>> lr = problem.add_hyperparameter((1e-4, 1e-1, "log-uniform"), "lr")
    >>> act = problem.add_hyperparameter(["relu", "tanh"], "activation", default_value="relu")
    >>> problem.add_starting_point(lr=0.01, activation="tanh")
    >>> [p["type"] for p in problem.parameter_config]
    ['float', 'choice']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tunelab.compat.deephyper.conditions import condition_when, to_configspace
from tunelab.exceptions import SpecError, UserError
from tunelab.space import Space
from tunelab.spec import build_space

_PRIORS = ("uniform", "log-uniform")


def _fail(name: Any, value: Any, fix: str) -> UserError:
    return UserError(f"HpProblem: hyperparameter {name!r} has an invalid range {value!r}; {fix}")


def _from_tuple(name: str, value: tuple) -> dict[str, Any]:
    if len(value) not in (2, 3):
        raise _fail(name, value, "write (low, high) or (low, high, 'log-uniform')")
    prior = value[2] if len(value) == 3 else "uniform"
    if prior not in _PRIORS:
        raise _fail(name, value, f"the third element must be one of {list(_PRIORS)}")
    bounds = value[:2]
    if all(isinstance(v, int) for v in bounds):
        kind = "int"
    elif any(isinstance(v, float) for v in bounds) and all(isinstance(v, (int, float)) for v in bounds):
        kind = "float"
    else:
        raise _fail(name, value, "the bounds must be two ints or two numbers with a float")
    return {"name": name, "type": kind, "range": list(bounds), "log": prior == "log-uniform"}


def _from_list(name: str, value: list) -> dict[str, Any]:
    if any(isinstance(v, (str, bool, np.bool_)) for v in value):
        return {"name": name, "type": "choice", "range": list(value)}
    if value and all(isinstance(v, (int, float)) for v in value):
        return {"name": name, "type": "ordinal", "range": list(value)}
    raise _fail(name, value, "a list must hold strings/booleans (categorical) or numbers (ordinal)")


def _from_dict(name: str, value: dict) -> dict[str, Any]:
    if "mu" not in value or "sigma" not in value:
        raise _fail(name, value, "a dict range needs the keys 'mu' and 'sigma' (a normal prior)")
    if type(value["mu"]) is int:
        raise UserError(f"HpProblem: hyperparameter {name!r} has an integer normal prior {value!r}, which "
                        f"tunelab's space does not offer; write mu as a float ({float(value['mu'])}) for a real "
                        "parameter, or use an int range (low, high)")
    if type(value["mu"]) is not float:
        raise _fail(name, value, "'mu' must be a float or an int")
    return {"name": name, "type": "float", "prior": "normal", "mu": value["mu"], "sigma": value["sigma"]}


def _from_configspace(name: str | None, value: Any) -> dict[str, Any]:
    """A ConfigSpace hyperparameter object, read by its attributes (ConfigSpace is not needed)."""
    kind = type(value).__name__
    hp_name = getattr(value, "name", name)
    if kind in ("UniformIntegerHyperparameter", "UniformFloatHyperparameter"):
        return {"name": hp_name, "type": "int" if "Integer" in kind else "float",
                "range": [value.lower, value.upper], "log": bool(value.log)}
    if kind == "CategoricalHyperparameter":
        return {"name": hp_name, "type": "choice", "range": list(value.choices)}
    if kind == "OrdinalHyperparameter":
        return {"name": hp_name, "type": "ordinal", "range": list(value.sequence)}
    if kind == "Constant":
        return {"name": hp_name, "type": "constant", "value": value.value}
    if kind == "NormalFloatHyperparameter":
        return {"name": hp_name, "type": "float", "prior": "normal", "mu": value.mu, "sigma": value.sigma,
                "range": [value.lower, value.upper], "log": bool(value.log)}
    raise _fail(hp_name, value, "use a (low, high) tuple, a list, or a Uniform/NormalFloat/Categorical/Ordinal/"
                                "Constant hyperparameter")


def infer_entry(value: Any, name: str | None, default_value: Any = None) -> dict[str, Any]:
    """The ``parameter_config`` entry DeepHyper's shortcut ``value`` stands for.

    Raises:
        UserError: the range is not one of DeepHyper's forms, or the name is not a string.
    """
    if hasattr(value, "name") and type(value).__module__.startswith("ConfigSpace"):
        entry = _from_configspace(name, value)
    elif type(name) is not str:
        raise UserError(f"HpProblem: the name of a hyperparameter must be a string, got {name!r}")
    elif type(value) is tuple:
        entry = _from_tuple(name, value)
    elif type(value) is list:
        entry = _from_list(name, value)
    elif type(value) is dict:
        entry = _from_dict(name, value)
    elif isinstance(value, (str, bool, int, float)):
        entry = {"name": name, "type": "constant", "value": value}
    else:
        raise _fail(name, value, "use a tuple (low, high), a list of values, a dict {'mu', 'sigma'} or a scalar")
    if default_value is not None:
        entry["default"] = default_value
    return entry


def _default(entry: dict[str, Any]) -> Any:
    if "default" in entry:
        return entry["default"]
    kind = entry["type"]
    if kind == "constant":
        return entry["value"]
    if kind in ("choice", "ordinal"):
        return entry["range"][0]
    if entry.get("prior") == "normal":
        return entry["mu"]
    low, high = entry["range"]
    middle = float(np.exp((np.log(low) + np.log(high)) / 2)) if entry.get("log") else (low + high) / 2
    return round(middle) if kind == "int" else middle


def _parents_first(entries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries in the order they were added, except that each comes after the parents
    its ``when`` names (tunelab's order; DeepHyper's conditions may point forward).

    Raises:
        SpecError: the conditions form a cycle.
    """
    placed: dict[str, dict[str, Any]] = {}
    while len(placed) < len(entries):
        ready = [n for n, e in entries.items() if n not in placed and all(p in placed for p in e.get("when", {}))]
        if not ready:
            raise SpecError([f"parameter_config: the conditions of {sorted(set(entries) - set(placed))} form a cycle"])
        placed[ready[0]] = entries[ready[0]]
    return list(placed.values())


class HpProblem:
    """A hyperparameter problem with DeepHyper's API, translated into tunelab's space.

    Example:
        >>> problem = HpProblem()
        >>> units = problem.add_dim("units", (8, 64))
        >>> problem.hyperparameter_names
        ['units']
    """

    def __init__(self, config_space: Any = None) -> None:
        self._entries: dict[str, dict[str, Any]] = {}
        self.references: list[dict[str, Any]] = []
        if config_space is not None:
            self._add_config_space(config_space)

    def _add_config_space(self, config_space: Any) -> None:
        """``HpProblem(config_space)``: every hyperparameter and condition of a ConfigSpace
        ``ConfigurationSpace``.

        Raises:
            UserError: forbidden clauses, or what :meth:`add_hyperparameter` and
                :meth:`add_condition` refuse.
        """
        if list(getattr(config_space, "forbidden_clauses", [])):
            raise UserError("HpProblem(config_space): forbidden clauses are not supported; drop them and "
                            "return 'F_forbidden' from run for those configurations")
        for hyperparameter in config_space.values():
            self.add_hyperparameter(hyperparameter)
        self.add_conditions(list(config_space.conditions))

    def __repr__(self) -> str:
        return f"HpProblem({list(self._entries.values())!r}, starting_points={self.references!r})"

    def __len__(self) -> int:
        return len(self._entries)

    def add_hyperparameter(self, value: Any, name: str | None = None, default_value: Any = None) -> Any:
        """Add a hyperparameter whose type is inferred from ``value``.

        Returns:
            the ConfigSpace hyperparameter, to build conditions on, as DeepHyper returns;
            without ConfigSpace installed, the ``parameter_config`` entry it became.

        Raises:
            UserError: an invalid range, a repeated name, or a default outside the range.
        """
        entry = infer_entry(value, name, default_value)
        if entry["name"] in self._entries:
            raise UserError(f"HpProblem: hyperparameter {entry['name']!r} is added twice; give each name once")
        try:
            build_space([entry])
        except SpecError as exc:
            where, _, reason = exc.problems[0].partition(": ")
            if where.endswith(".default"):
                raise UserError(f"HpProblem: default_value of {entry['name']!r}: {reason}") from None
            raise _fail(entry["name"], value, reason) from None
        self._entries[entry["name"]] = entry
        return to_configspace(entry)

    def add_condition(self, condition: Any) -> None:
        """Make a hyperparameter exist only under a ConfigSpace condition on another
        (see :mod:`tunelab.compat.deephyper.conditions`).

        Raises:
            UserError: an unsupported condition, or names not in the problem.
        """
        child, when = condition_when(condition, self._entries)
        entries = {**self._entries, child: {**self._entries[child], "when": {**self._entries[child].get("when", {}),
                                                                           **when}}}
        try:
            build_space(_parents_first(entries))
        except SpecError as exc:
            raise UserError(f"HpProblem.add_condition: {exc.problems[0]}") from None
        self._entries = entries

    def add_conditions(self, conditions: list[Any]) -> None:
        """:meth:`add_condition` for each condition."""
        for condition in conditions:
            self.add_condition(condition)

    def add_dim(self, p_name: str, p_space: Any, default: Any = None) -> Any:
        """DeepHyper's older spelling of :meth:`add_hyperparameter` (name first)."""
        return self.add_hyperparameter(p_space, p_name, default)

    def add_starting_point(self, **parameters: Any) -> None:
        """Run this configuration before the search proposes anything.

        Raises:
            SpecError: a missing, unknown or out-of-range value.
        """
        self.space.validate(parameters, where="add_starting_point")
        self.references.append(dict(parameters))

    @property
    def hyperparameter_names(self) -> list[str]:
        """The names, in the order they were added."""
        return list(self._entries)

    @property
    def space(self) -> Space:
        """The tunelab space."""
        if not self._entries:
            raise UserError("HpProblem: no hyperparameter; add one with add_hyperparameter((low, high), name)")
        return build_space(self.parameter_config)

    @property
    def parameter_config(self) -> list[dict[str, Any]]:
        """The hyperparameters as tunelab ``parameter_config`` entries."""
        return [dict(e) for e in _parents_first(self._entries)]

    @property
    def default_configuration(self) -> dict[str, Any]:
        """ConfigSpace's default of each active hyperparameter: its ``default_value``, else
        the middle of a range (geometric on a log scale, rounded for ints), the first
        choice, or the constant (``CBO(initial_points=[problem.default_configuration])``)."""
        config: dict[str, Any] = {}
        for entry in _parents_first(self._entries):
            when = entry.get("when", {})
            if all(p in config and (config[p] in v if isinstance(v, list) else config[p] == v)
                   for p, v in when.items()):
                config[entry["name"]] = _default(entry)
        return config

    @property
    def starting_point_asdict(self) -> list[dict[str, Any]]:
        """The starting points (DeepHyper's name), as tunelab's ``initial_configs``."""
        return [dict(p) for p in self.references]

    def to_spec(self) -> dict[str, Any]:
        """The spec keys this problem fills: ``parameter_config`` and ``initial_configs``."""
        return {"parameter_config": self.parameter_config, "initial_configs": self.starting_point_asdict}
