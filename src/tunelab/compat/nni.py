"""NNI's trial API on tunelab: change ``import nni`` to ``import tunelab.compat.nni as nni``.

Example:
    An NNI trial script runs unchanged apart from its import::

        import tunelab.compat.nni as nni

        params = {"lr": 0.1, "units": 32}
        params.update(nni.get_next_parameter())
        for epoch in range(10):
            accuracy = train_one_epoch(**params)
            nni.report_intermediate_result(accuracy)
        nni.report_final_result({"default": accuracy, "loss": 0.3})

Nested choices reach the script in NNI's shape (``{"layer": {"_name": "conv",
"kernel": 3}}``) although tunelab stores flat names (``layer``, ``layer/conv/kernel``):
the NNI front-end puts the folding layout in :data:`ENV_LAYOUT`.

Run by hand (no tunelab job), :func:`get_next_parameter` returns ``{}`` and the ids are
NNI's standalone values. This module uses only the standard library.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tunelab import _protocol as protocol
from tunelab import trial

__all__ = [
    "ENV_LAYOUT",
    "ENV_PBT",
    "get_current_parameter",
    "get_experiment_id",
    "get_next_parameter",
    "get_sequence_id",
    "get_trial_id",
    "merge_parameter",
    "nest_config",
    "report_final_result",
    "report_intermediate_result",
]

ENV_LAYOUT = "TUNELAB_NNI_LAYOUT"
"""Environment variable holding the JSON layout that folds flat names into NNI's nesting."""

ENV_PBT = "TUNELAB_NNI_PBT"
"""Set by the NNI front-end for NNI's PBT tuner: the parameters then carry
``load_checkpoint_dir`` and ``save_checkpoint_dir``, as NNI's PBT trials expect (both the
job's checkpoint folder, which tunelab fills with the parent's checkpoint)."""

_STANDALONE = "STANDALONE"
_state: dict[str, Any] = {"params": None, "steps": 0}


def _walk(root: dict[str, Any], path: list[str]) -> dict[str, Any]:
    node = root
    for key in path[:-1]:
        node = node[key]
    return node


def nest_config(flat: dict[str, Any], layout: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Fold tunelab's flat config into NNI's nested parameter value.

    Args:
        flat: the job's config, e.g. ``{"layer": "conv", "layer/conv/kernel": 3}``.
        layout: flat name -> ``{"path": [...], "nested": bool, "cascade": values}``, as
            written by :func:`tunelab.formats.nni_space.translate_search_space`.

    Returns:
        The config as NNI gives it, e.g. ``{"layer": {"_name": "conv", "kernel": 3}}``.
    """
    nested: dict[str, Any] = {}
    ordered = sorted(flat, key=lambda name: (len(layout.get(name, {}).get("path", [name])),
                                             "cascade" in layout.get(name, {})))
    for name in ordered:
        value = flat[name]
        place = layout.get(name)
        if place is None:
            nested[name] = value
            continue
        parent, key = _walk(nested, place["path"]), place["path"][-1]
        if "cascade" in place:
            choice: dict[str, Any] = {"_value": value}
            if place["cascade"] is not None:
                choice = {"_index": place["cascade"].index(value), "_value": value}
            parent[key] = [parent[key], choice]
        elif place.get("nested"):
            parent[key] = {"_name": value}
        else:
            parent[key] = value
    return nested


def _load() -> dict[str, Any]:
    path = os.environ.get(protocol.ENV_CONFIG)
    if not path:
        return {}
    flat = dict(trial.load_config(path))
    layout = json.loads(os.environ.get(ENV_LAYOUT) or "{}")
    params = nest_config(flat, layout)
    folder = trial.checkpoint_dir() if os.environ.get(ENV_PBT) else None
    if folder:
        params["load_checkpoint_dir"] = params["save_checkpoint_dir"] = folder
    return params


def get_next_parameter() -> dict[str, Any]:
    """The job's parameters, nested like NNI's; ``{}`` when run by hand."""
    _state["params"] = _load()
    return _state["params"]


def get_current_parameter(tag: str | None = None) -> Any:
    """The parameters returned by the last :func:`get_next_parameter` (or one of them)."""
    if _state["params"] is None:
        _state["params"] = _load()
    return _state["params"] if tag is None else _state["params"][tag]


def _main_value(metric: Any, what: str) -> tuple[float, dict[str, float]]:
    if isinstance(metric, dict):
        if "default" not in metric:
            raise TypeError(f"{what}: a dict metric needs a 'default' key (the value optimized), "
                            f"got keys {sorted(metric)}")
        extra = {k: float(v) for k, v in metric.items()
                 if k != "default" and isinstance(v, (int, float)) and not isinstance(v, bool)}
        return float(metric["default"]), extra
    return float(metric), {}


def report_intermediate_result(metric: Any) -> None:
    """Record an intermediate value (steps count 1, 2, ...); a dict reports its ``default``."""
    value, _ = _main_value(metric, "report_intermediate_result")
    _state["steps"] += 1
    trial.report_intermediate(value, step=_state["steps"])


def report_final_result(metric: Any) -> None:
    """Record the final value: a number, or a dict whose ``default`` is optimized and
    whose other numeric keys are recorded as extra results. With several objectives, a
    dict naming each needs no ``default``."""
    names = protocol.objective_names()
    if isinstance(metric, dict) and "default" not in metric and names and set(names) <= set(metric):
        trial.report({k: v for k, v in metric.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
        return
    value, extra = _main_value(metric, "report_final_result")
    trial.report(value, **extra)


def merge_parameter(base_params: Any, override_params: dict[str, Any] | None) -> Any:
    """``nni.utils.merge_parameter``: write the tuner's values over parsed defaults, in place.

    ``base_params`` is a dict or an ``argparse.Namespace``; each override must name an
    existing key and keep its type (an int may replace a float, and any value a None).
    ``from nni.utils import merge_parameter`` becomes
    ``from tunelab.compat.nni import merge_parameter``.

    Raises:
        ValueError: an unknown key or a value of another type, as NNI raises.
    """
    for key, value in (override_params or {}).items():
        if isinstance(base_params, dict):
            if key not in base_params:
                raise ValueError(f"Key '{key}' not found in base parameters.")
            base_params[key] = _same_type(key, base_params[key], value)
        else:
            if not hasattr(base_params, key):
                raise ValueError(f"Key '{key}' not found in base parameters.")
            setattr(base_params, key, _same_type(key, getattr(base_params, key), value))
    return base_params


def _same_type(key: str, base: Any, value: Any) -> Any:
    if base is None or isinstance(value, type(base)):
        return value
    if isinstance(base, float) and isinstance(value, int):
        return float(value)
    raise ValueError(f'Expected "{key}" in override parameters to have type {type(base).__name__}, '
                     f"but found {type(value).__name__}")


def get_experiment_id() -> str:
    """The experiment's name, or ``"STANDALONE"`` when run by hand."""
    return os.environ.get(protocol.ENV_EXPERIMENT) or _STANDALONE


def get_trial_id() -> str:
    """The job's id, or ``"STANDALONE"`` when run by hand."""
    return os.environ.get(protocol.ENV_JOB_ID) or _STANDALONE


def get_sequence_id() -> int:
    """The job's number in the experiment (0 when run by hand)."""
    raw = os.environ.get(protocol.ENV_JOB_ID, "")
    return int(raw) if raw.isdigit() else 0
