"""Auptimizer ``experiment.json`` files as tunelab specs.

tunelab's native keys are Auptimizer's, so most keys pass through. This module handles
the rest:

* ``name`` written as a path (``"./demo/experiment.json"``, as ``aup.init`` writes it)
  becomes the file stem (``"experiment"``).
* Proposer names: ``spearmint`` -> ``gp``; ``hyperopt`` with ``engine`` ``tpe`` |
  ``anneal`` | ``random``/``rand`` -> ``tpe`` | ``anneal`` | ``random``; ``hyperband``
  and ``bohb`` keep their names; ``eas`` is refused with the nearest alternative.
* Per-proposer top-level keys move into ``proposer_args``: hyperband's ``max_iter``,
  ``eta``, ``skip_last``, ``engine`` as they are, plus ``iterations: 1`` (Auptimizer
  runs one pass over the brackets); bohb's HpBandSter keys as they are, except
  ``n_iterations`` -> ``iterations``; ``min_points_in_model: ""`` means the default and
  is dropped. Both hand the budget to the script under ``n_iterations``, as Auptimizer
  does (``budget_name``).
* ``resource`` ``node`` (or ``ssh``) runs on Auptimizer's hosts through a Dask SSH
  cluster: ``resource_args.nodes`` gives them as Auptimizer's node file does (a path to
  that file, or a list of its lines, ``user@host[:port] [key]``), and the optional
  ``resource_args.python`` the Python to start there. ``aws`` is refused in one line
  naming the Dask route. ``runtime_args`` keeps ``env`` (``overwrite`` is moot locally).
* Spearmint's per-parameter ``"size": 1`` is dropped.
* Documented defaults (Auptimizer's docs, where its code disagrees): ``target`` is
  ``max`` and ``n_samples`` is 10 for sampling proposers.
* A ``job_failure`` block without ``job_retries`` retries a failed job 3 times, as
  Auptimizer's code does (its README says 0; the code is what its users got).
* Paths as Auptimizer has them: ``workingdir`` defaults to the folder the user starts
  from, and a relative one (``~`` expanded) is taken from there, not from the file's
  folder; ``script`` is then found in ``workingdir``, as for every file.

These apply only to files that are recognisably Auptimizer's (a path-like name or an
Auptimizer-only key or value); a file that is also a valid native tunelab file is
returned unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tunelab.exceptions import UserError
from tunelab.executors.kinds import Machine, remote_route, ssh_cluster

_SAMPLING = {"random", "gp", "tpe", "anneal"}
_REMOTE = {"node", "aws", "ssh"}

HYPEROPT_ENGINES = {"tpe": "tpe", "anneal": "anneal", "random": "random", "rand": "random"}
"""Auptimizer's ``hyperopt`` ``engine`` -> tunelab proposer."""

SPEARMINT_CHOOSERS = {"gpeichooser": "gp", "gpeioptchooser": "gp", "gpeipersecchooser": "gp",
                      "randomchooser": "random"}
"""Spearmint's ``engine`` (its chooser module) -> tunelab proposer."""

HYPERBAND_KEYS = {key: key for key in ("max_iter", "eta", "skip_last", "engine")}
BOHB_KEYS = {"n_iterations": "iterations", **{key: key for key in (
    "min_points_in_model", "top_n_percent", "num_samples", "random_fraction", "bandwidth_factor", "min_bandwidth",
    "eta", "min_budget", "max_budget")}}
JOB_RETRIES = 3
"""``job_retries`` Auptimizer's code sets when a ``job_failure`` block leaves it out."""
BUDGET_NAME = "n_iterations"
"""Config key under which Auptimizer's hyperband and bohb hand a job its budget."""

_AUP_ONLY_PROPOSERS = {"spearmint", "hyperopt", "eas"}
_AUP_ONLY_KEYS = {"engine", "max_iter", "skip_last", "n_iterations", "min_points_in_model", "top_n_percent"}


def detect(data: dict[str, Any], path: Path) -> bool:
    """True for an Auptimizer experiment (``parameter_config`` with ``script`` or
    ``proposer``, or a ``resource`` of its kinds); native files match too and are kept."""
    if "parameter_config" in data and ("script" in data or "proposer" in data):
        return True
    return data.get("resource") in _REMOTE | {"cpu", "gpu", "passive"}


def _clean_name(name: Any) -> Any:
    if isinstance(name, str) and ("/" in name or "\\" in name or name.endswith(".json")):
        return Path(name.replace("\\", "/")).stem or name
    return name


def is_auptimizer_only(data: dict[str, Any]) -> bool:
    """True when something in ``data`` cannot be a native tunelab file."""
    name = data.get("name")
    if isinstance(name, str) and _clean_name(name) != name:
        return True
    if str(data.get("proposer")) in _AUP_ONLY_PROPOSERS or str(data.get("resource")) in _REMOTE:
        return True
    if any(key in data for key in _AUP_ONLY_KEYS) or "prescript" in (data.get("runtime_args") or {}):
        return True
    params = data.get("parameter_config")
    return isinstance(params, list) and any(isinstance(p, dict) and "size" in p for p in params)


def _check_resource(data: dict[str, Any]) -> None:
    if data.get("resource") == "aws":
        raise UserError(f"resource: 'aws' is not run directly; {remote_route('aws')}")


def _nodes(args: dict[str, Any]) -> dict[str, Any]:
    """``resource_args`` of a ``node`` experiment: its hosts as a Dask SSH cluster."""
    nodes = args.get("nodes")
    if isinstance(nodes, str):
        try:
            nodes = Path(_from_start_folder(nodes)).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UserError(f"resource_args.nodes: cannot read the node file {args['nodes']!r} "
                            f"({exc.strerror}); give Auptimizer's node file or a list of its lines") from None
    lines = [line.strip() for line in nodes if isinstance(line, str) and line.strip()] \
        if isinstance(nodes, list) else []
    if not lines:
        raise UserError(f"resource_args.nodes: {args.get('nodes')!r} names no host; resource 'node' needs its hosts, "
                        "as Auptimizer's node file gives them: \"nodes\": \"node.txt\" or a list of "
                        "'user@host[:port] [key]' lines")
    python = args.get("python")
    return {"cluster": ssh_cluster([_machine(line, i, python) for i, line in enumerate(lines)])}


def _machine(line: str, index: int, python: str | None) -> Machine:
    """One line of Auptimizer's node file: ``user@host[:port] [key]``."""
    address, _, key = line.partition(" ")
    user, at, host = address.partition("@")
    host, _, port = host.partition(":")
    if not (at and user and host) or (port and not port.isdigit()):
        raise UserError(f"resource_args.nodes[{index}]: {line!r} is not a host; write it as Auptimizer's node "
                        "file does: user@host, user@host:port, optionally followed by a key file")
    return Machine(host, int(port or 22), user, key.strip() or None, python)


def _proposer(data: dict[str, Any], spec: dict[str, Any]) -> None:
    name = data.get("proposer", "random")
    engine = data.get("engine")
    if name == "eas":
        raise UserError("proposer: 'eas' (architecture search) has no tunelab counterpart yet; the nearest is "
                        "to search the architecture's knobs (depth, widths) as parameters with 'bohb' or 'tpe'")
    if name == "spearmint":
        chooser = str(engine or "GPEIChooser")
        if chooser.lower() not in SPEARMINT_CHOOSERS:
            raise UserError(f"engine: spearmint chooser {chooser!r} is unknown; use GPEIChooser (-> gp) "
                            f"or RandomChooser (-> random)")
        spec["proposer"] = SPEARMINT_CHOOSERS[chooser.lower()]
    elif name == "hyperopt":
        choice = str(engine or "tpe").lower()
        if choice not in HYPEROPT_ENGINES:
            raise UserError(f"engine: hyperopt engine {engine!r} is unknown; use one of tpe, anneal, random")
        spec["proposer"] = HYPEROPT_ENGINES[choice]
    elif name == "hyperband":
        _move(data, spec, HYPERBAND_KEYS).setdefault("iterations", 1)
    elif name == "bohb":
        _move(data, spec, BOHB_KEYS)
    if name in ("spearmint", "hyperopt"):
        spec.pop("engine", None)


def _move(data: dict[str, Any], spec: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    args = dict(spec.get("proposer_args") or {})
    for key, native in keys.items():
        if key in data:
            value = spec.pop(key)
            if value not in ("", None):
                args[native] = value
    args["budget_name"] = BUDGET_NAME
    spec["proposer_args"] = args
    return args


def _parameters(entries: Any) -> Any:
    if not isinstance(entries, list):
        return entries
    out = []
    for entry in entries:
        if isinstance(entry, dict) and "size" in entry:
            if entry["size"] != 1:
                raise UserError(f"parameter_config.{entry.get('name')}.size: only size 1 is supported, got "
                                f"{entry['size']!r}; declare one parameter per dimension")
            entry = {k: v for k, v in entry.items() if k != "size"}
        out.append(entry)
    return out


def _runtime_args(runtime: dict[str, Any]) -> dict[str, Any]:
    for key in ("prescript", "postscript"):
        if key in runtime:
            raise UserError(f"runtime_args.{key}: tunelab never runs shell snippets; put variables in "
                            f"runtime_args.env or wrap the commands in your script")
    return {k: v for k, v in runtime.items() if k != "overwrite"}


def translate(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """The native spec dict of an Auptimizer experiment; identity on native files.

    Raises:
        UserError: an unsupported resource, proposer or engine (one line naming the key,
            the value and what works now).
    """
    _check_resource(data)
    if not is_auptimizer_only(data):
        return data
    spec = dict(data)
    spec["name"] = _clean_name(data.get("name"))
    if spec["name"] is None:
        spec.pop("name")
    spec.setdefault("proposer", "random")
    _proposer(data, spec)
    spec.setdefault("target", "max")
    if spec.get("proposer", "random") in _SAMPLING:
        spec.setdefault("n_samples", 10)
    if "parameter_config" in spec:
        spec["parameter_config"] = _parameters(spec["parameter_config"])
    if "runtime_args" in spec:
        spec["runtime_args"] = _runtime_args(spec["runtime_args"])
    if spec.get("resource") in _REMOTE:
        spec["resource"], spec["resource_args"] = "dask", _nodes(dict(data.get("resource_args") or {}))
    if isinstance(spec.get("job_failure"), dict):
        spec["job_failure"] = {"job_retries": JOB_RETRIES, **spec["job_failure"]}
    if isinstance(spec.get("workingdir", "."), str):
        spec["workingdir"] = _from_start_folder(spec.get("workingdir") or ".")
    return spec


def _from_start_folder(workingdir: str) -> str:
    """Auptimizer's ``workingdir``: absolute, a relative one taken from the current folder."""
    return os.path.abspath(os.path.expanduser(workingdir))
