"""NNI experiment configs (v3 camelCase YAML and the legacy v1 names) as tunelab specs.

============================================  ==============================================
NNI                                           tunelab
============================================  ==============================================
experimentName                                name (default: the config's folder name)
trialCommand / trial.command                  command (``shlex.split``, never a shell)
trialCodeDirectory / trial.codeDir            workingdir (relative to the config file)
trialConcurrency                              n_parallel
maxTrialNumber / maxTrialNum                  n_samples
maxExperimentDuration / maxExecDuration       max_duration (``"1h"``, ``"30m"``, ...)
maxTrialDuration                              job_timeout
trialGpuNumber / trial.gpuNum                 resource ``gpu`` + resource_args.gpus_per_job
trainingService.gpuIndices                    resource_args.gpus
searchSpace / searchSpaceFile / searchSpacePath  parameter_config (:mod:`.nni_space`)
tuner / advisor {name, classArgs}             proposer + proposer_args; optimize_mode ->
                                              target, seed -> random_seed
assessor {name, classArgs}                    resource_args.early_stop =
                                              ``{"nni": name, **classArgs}``
useAnnotation: true                           search space read from the script's
                                              annotations; the script runs through
                                              :mod:`tunelab.compat.nni_annotation`
============================================  ==============================================
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from tunelab.compat.nni import ENV_LAYOUT, ENV_PBT
from tunelab.exceptions import UserError
from tunelab.executors.kinds import Machine, remote_route, ssh_cluster
from tunelab.formats.nni_space import NniSpace, translate_search_space

_V3_KEYS = {"experimentName", "searchSpaceFile", "searchSpace", "trialCommand", "trialCodeDirectory",
            "trialConcurrency", "trialGpuNumber", "maxExperimentDuration", "maxTrialDuration",
            "maxTrialNumber", "tuner", "assessor", "advisor", "trainingService", "useAnnotation"}
_V1_KEYS = {"authorName", "maxExecDuration", "maxTrialNum", "trainingServicePlatform", "searchSpacePath",
            "trial", "localConfig"}
_IGNORED = {"authorName", "description", "debug", "logLevel", "logDir", "logCollection",
            "experimentWorkingDirectory", "nniManagerIp", "tunerGpuIndices", "tunerGpuNumber",
            "multiThread", "multiPhase", "versionCheck", "experimentType"}
"""Keys about NNI's own manager, logs and UI: they do not change the search."""

TUNERS: dict[str, tuple[str, dict[str, str]]] = {
    "tpe": ("tpe", {}),
    "random": ("random", {}),
    "randomsearch": ("random", {}),
    "anneal": ("anneal", {}),
    "evolution": ("evolution", {}),
    "gridsearch": ("sequence", {}),
    "batchtuner": ("batch", {}),
    "smac": ("smac", {}),
    "gp": ("gp", {}),
    "gptuner": ("gp", {}),
    "metis": ("gp", {}),
    "metistuner": ("gp", {}),
    "hyperband": ("hyperband", {}),
    "bohb": ("bohb", {}),
    "pbt": ("pbt", {"fraction": "quantile_fraction"}),
    "pbttuner": ("pbt", {"fraction": "quantile_fraction"}),
}
"""NNI tuner/advisor name (lower case) -> tunelab proposer and classArgs renames."""

NEAREST: dict[str, str] = {
    "dngo": "gp", "dngotuner": "gp", "ppo": "evolution",
    "ppotuner": "evolution", "networkmorphism": "tpe", "regularizedevolution": "evolution",
    "regularizedevolutiontuner": "evolution",
}
"""NNI tuners without a tunelab counterpart -> the nearest proposer to use instead."""

MISSING_NEAREST = {"smac": "gp"}
"""Proposers NNI names that this tunelab may lack -> the nearest one it has."""

_NNI_ONLY_ARGS = {"parallel_optimize", "constant_liar_type", "exec_mode", "config_dedup"}
"""classArgs that tune how NNI runs its tuner; tunelab always accounts for running jobs."""

ASSESSORS = {"medianstop": "Medianstop", "curvefitting": "Curvefitting"}
"""NNI assessors passed on to tunelab's stoppers as ``{"nni": name, **classArgs}``."""

BUDGET_NAME = "TRIAL_BUDGET"
"""Config key under which NNI's Hyperband and BOHB hand a trial its budget."""


def detect(data: dict[str, Any], path: Path) -> bool:
    """True for an NNI experiment config (v3 camelCase or v1 names)."""
    if any(key in data for key in _V3_KEYS - {"tuner", "assessor", "advisor"}) or \
            any(key in data for key in _V1_KEYS - {"trial"}):
        return True
    return isinstance(data.get("trial"), dict) or any(isinstance(data.get(k), dict)
                                                      for k in ("tuner", "advisor"))


def _get(data: dict[str, Any], v3: str, v1: str | None = None, default: Any = None) -> Any:
    if v3 in data:
        return data[v3]
    if v1 is not None:
        section, _, key = v1.partition(".")
        if key:
            return (data.get(section) or {}).get(key, default)
        return data.get(v1, default)
    return default


def _check_keys(data: dict[str, Any]) -> None:
    for key in data:
        if key not in _V3_KEYS | _V1_KEYS | _IGNORED:
            raise UserError(f"{key}: not an NNI experiment key tunelab knows; remove it, or see "
                            f"docs/migrating.md#nni for the keys tunelab reads")


def _platform(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The local platform's options, and the SSH cluster of a ``remote`` platform."""
    service = data.get("trainingService", {"platform": data.get("trainingServicePlatform", "local")})
    services = service if isinstance(service, list) else [service]
    for item in services:
        platform = item.get("platform") if isinstance(item, dict) else item
        if platform == "remote" and len(services) == 1 and isinstance(item, dict) and item.get("machineList"):
            return {}, ssh_cluster(_machines(item["machineList"]))
        if platform != "local":
            route = remote_route("node" if platform == "remote" else "aws")
            raise UserError(f"trainingService.platform: {platform!r} is not run directly; {route}")
    local = services[0] if isinstance(services[0], dict) else {}
    return {**(data.get("localConfig") or {}), **local}, None


def _machines(entries: Any) -> list[Machine]:
    """NNI's ``machineList`` (``host``, ``port``, ``user``, ``sshKeyFile``, ``pythonPath``)."""
    if not isinstance(entries, list):
        raise UserError(f"trainingService.machineList: expected a list of machines, got {entries!r}")
    machines = []
    for i, entry in enumerate(entries):
        where = f"trainingService.machineList[{i}]"
        if not isinstance(entry, dict) or not entry.get("host"):
            raise UserError(f"{where}.host: missing; give each machine's host name or address")
        if entry.get("password"):
            raise UserError(f"{where}.password: tunelab does not log in with passwords; make a key "
                            f"(ssh-keygen, ssh-copy-id) and give it as sshKeyFile")
        python = entry.get("pythonPath")
        machines.append(Machine(str(entry["host"]), int(entry.get("port", 22)), entry.get("user"),
                                entry.get("sshKeyFile"), f"{python}/python3" if python else None))
    return machines


def _gpu_ids(raw: Any) -> list[int]:
    if raw is None:
        return []
    parts = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, list) else [raw]
    ids = [int(p) if isinstance(p, int) and not isinstance(p, bool) else
           int(p.strip()) if isinstance(p, str) and p.strip().isdigit() else None for p in parts]
    if None in ids or any(i < 0 for i in ids if i is not None):
        raise UserError(f"trainingService.gpuIndices: expected GPU ids like [0, 1] or \"0,1\", got {raw!r}")
    return [i for i in ids if i is not None]


def _whole(key: str, value: Any, least: int) -> int:
    """An NNI count (``trialConcurrency``, ``maxTrialNumber``, ...): a whole number >= ``least``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise UserError(f"{key}: expected a whole number of at least {least}, got {value!r}")
    return value


def _duration(key: str, value: Any) -> float:
    from tunelab.spec import parse_duration

    try:
        seconds = parse_duration(value)
    except ValueError:
        seconds = None
    if seconds is None or seconds <= 0:
        raise UserError(f"{key}: expected a duration like '30m', '2h' or '1d', got {value!r}")
    return seconds


def _section(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise UserError(f"{key}: expected a mapping like `{key}: {{name: ..., classArgs: {{...}}}}`, got {value!r}")
    args = value.get("classArgs")
    if args is not None and not isinstance(args, dict):
        raise UserError(f"{key}.classArgs: expected a mapping of arguments like {{optimize_mode: maximize}}, "
                        f"got {args!r}")
    return value


def _read_space(data: dict[str, Any], base: Path) -> Any:
    from tunelab.loader import read_document

    if "searchSpace" in data:
        return data["searchSpace"]
    file = _get(data, "searchSpaceFile", "searchSpacePath")
    if not file:
        raise UserError("searchSpaceFile: missing; give `searchSpaceFile` (a JSON file) or an inline `searchSpace`")
    path = Path(file) if Path(file).is_absolute() else base / file
    if not path.is_file():
        raise UserError(f"searchSpaceFile: {file!r} does not exist next to the config ({base}); check the path")
    return read_document(path)


def _tuner(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    section = "tuner" if "tuner" in data else "advisor"
    if section not in data:
        raise UserError("tuner: missing; add `tuner: {name: TPE, classArgs: {optimize_mode: maximize}}`")
    tuner = _section(data, section)
    name = tuner.get("name") or tuner.get("builtinTunerName") or tuner.get("builtinAdvisorName")
    if not name:
        raise UserError(f"{section}: custom tuners cannot run on tunelab; set `name` to a built-in tuner "
                        f"({', '.join(sorted({v[0] for v in TUNERS.values()}))})")
    key = str(name).lower()
    if key in NEAREST:
        raise UserError(f"{section}.name: NNI's {name!r} has no tunelab counterpart yet; "
                        f"the nearest is {NEAREST[key]!r} (NNI name: {_nni_name(NEAREST[key])})")
    if key not in TUNERS:
        raise UserError(f"{section}.name: unknown tuner {name!r}; use one of "
                        f"{', '.join(sorted({n for n in TUNERS}))}")
    proposer = TUNERS[key][0]
    if proposer in MISSING_NEAREST:
        from tunelab import proposers

        if proposer not in proposers.names():
            raise UserError(f"{section}.name: NNI's {name!r} maps to tunelab's {proposer!r}, which this version "
                            f"lacks; the nearest is {MISSING_NEAREST[proposer]!r}")
    return key, dict(tuner.get("classArgs") or {})


def _nni_name(proposer: str) -> str:
    return next(key for key, (value, _) in TUNERS.items() if value == proposer)


def _search_args(key: str, class_args: dict[str, Any], spec: dict[str, Any]) -> None:
    proposer, renames = TUNERS[key]
    spec["proposer"] = proposer
    mode = class_args.pop("optimize_mode", "minimize")
    if mode not in ("maximize", "minimize"):
        raise UserError(f"tuner.classArgs.optimize_mode: expected 'maximize' or 'minimize', got {mode!r}")
    spec["target"] = "max" if mode == "maximize" else "min"
    if "seed" in class_args:
        spec["random_seed"] = class_args.pop("seed")
    args = {renames.get(k, k): v for k, v in class_args.items() if k not in _NNI_ONLY_ARGS}
    if proposer in ("hyperband", "bohb", "pbt"):
        args["budget_name"] = BUDGET_NAME
    if proposer == "pbt":
        _pbt_args(args, spec)
    if args:
        spec["proposer_args"] = args


def _pbt_args(args: dict[str, Any], spec: dict[str, Any]) -> None:
    """NNI's PBT tuner: ``factor`` f perturbs by ``(1 + f, 1 - f)``; each NNI trial trains
    one perturbation interval (its own epochs), so generations go on until
    ``maxTrialNumber``; the trial finds its checkpoint folder under the parameters
    ``load_checkpoint_dir`` and ``save_checkpoint_dir`` (both the job's folder, filled
    with its parent's checkpoint), and ``all_checkpoint_dir`` is not needed."""
    factor = args.pop("factor", 0.2)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor < 1:
        raise UserError(f"tuner.classArgs.factor: expected a number in (0, 1), got {factor!r}")
    args["perturbation_factors"] = [1 + factor, 1 - factor]
    args.setdefault("population_size", 10)
    args.setdefault("quantile_fraction", 0.2)
    args.pop("all_checkpoint_dir", None)
    spec.setdefault("runtime_args", {}).setdefault("env", {})[ENV_PBT] = "1"


def _assessor(data: dict[str, Any], resource_args: dict[str, Any]) -> None:
    if data.get("assessor") is None:
        return
    assessor = _section(data, "assessor")
    name = assessor.get("name") or assessor.get("builtinAssessorName")
    if str(name).lower() not in ASSESSORS:
        raise UserError(f"assessor.name: {name!r} has no tunelab stopper; use Medianstop or Curvefitting")
    resource_args["early_stop"] = {"nni": ASSESSORS[str(name).lower()], **(assessor.get("classArgs") or {})}
    resource_args["track_intermediate_results"] = True


def _batch(space_doc: Any, spec: dict[str, Any]) -> None:
    """NNI's BatchTuner runs the dicts listed under ``combine_params``, in order."""
    node = space_doc.get("combine_params") if isinstance(space_doc, dict) else None
    configs = node.get("_value") if isinstance(node, dict) else None
    if not configs or not all(isinstance(c, dict) for c in configs):
        raise UserError("searchSpace: BatchTuner needs {\"combine_params\": {\"_type\": \"choice\", "
                        "\"_value\": [{...}, {...}]}}")
    names = list(dict.fromkeys(k for c in configs for k in c))
    for i, config in enumerate(configs):
        if set(config) != set(names):
            raise UserError(f"searchSpace.combine_params._value[{i}]: every config needs the keys {names}")
    spec["parameter_config"] = [{"name": n, "type": "choice",
                                 "range": list({json.dumps(c[n], sort_keys=True): c[n] for c in configs}.values())}
                                for n in names]
    spec.setdefault("proposer_args", {})["configs"] = configs


def _annotated(argv: list[str], workingdir: Path) -> tuple[list[str], Any]:
    from tunelab.compat.nni_annotation import search_space

    script = next((arg for arg in argv[1:] if arg.endswith(".py")), None)
    if script is None or "python" not in Path(argv[0]).name:
        raise UserError(f"trialCommand: with useAnnotation the command must be `python script.py ...`, "
                        f"got {shlex.join(argv)!r}")
    path = workingdir / script
    if not path.is_file():
        raise UserError(f"trialCommand: annotated script {script!r} does not exist in {workingdir}; "
                        f"check trialCodeDirectory")
    runner = [argv[0], "-m", "tunelab.compat.nni_annotation", "{config}", *argv[1:]]
    return runner, search_space(path.read_text(encoding="utf-8"), str(path))


def translate(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """The native spec dict of an NNI experiment config.

    Raises:
        UserError: an unsupported platform, tuner or assessor, a missing command or
            search space; one line naming the key and the fix.
    """
    _check_keys(data)
    base = path.resolve().parent
    local, cluster = _platform(data)
    command = _get(data, "trialCommand", "trial.command")
    if not command:
        raise UserError("trialCommand: missing; give the trial's command, e.g. `trialCommand: python3 train.py`")
    try:
        argv = shlex.split(str(command))
    except ValueError as exc:
        raise UserError(f"trialCommand: cannot split {command!r} into arguments ({exc}); close the quote") from None
    code_dir = str(_get(data, "trialCodeDirectory", "trial.codeDir", "."))
    spec: dict[str, Any] = {"name": data.get("experimentName") or base.name, "workingdir": code_dir}
    if data.get("useAnnotation"):
        workingdir = Path(code_dir) if Path(code_dir).is_absolute() else base / code_dir
        argv, space_doc = _annotated(argv, workingdir)
    else:
        space_doc = _read_space(data, base)
    spec["command"] = argv
    key, class_args = _tuner(data)
    _search_args(key, class_args, spec)
    if TUNERS[key][0] == "batch":
        _batch(space_doc, spec)
    else:
        _apply_space(translate_search_space(space_doc), spec)
    _limits(data, spec)
    resource_args = _resources(data, local, spec)
    if cluster is not None:
        spec["resource"], resource_args["cluster"] = "dask", cluster
    _assessor(data, resource_args)
    if resource_args:
        spec["resource_args"] = resource_args
    return spec


def _apply_space(space: NniSpace, spec: dict[str, Any]) -> None:
    spec["parameter_config"] = space.parameter_config
    if space.layout:
        spec.setdefault("runtime_args", {}).setdefault("env", {})[ENV_LAYOUT] = json.dumps(space.layout)


def _limits(data: dict[str, Any], spec: dict[str, Any]) -> None:
    for native, v3, v1 in (("n_parallel", "trialConcurrency", None), ("n_samples", "maxTrialNumber", "maxTrialNum"),
                           ("max_duration", "maxExperimentDuration", "maxExecDuration"),
                           ("job_timeout", "maxTrialDuration", None)):
        value = _get(data, v3, v1)
        if value is not None:
            key = v3 if v3 in data else v1 or v3
            _duration(key, value) if "Duration" in v3 else _whole(key, value, 1)
            spec[native] = value


def _resources(data: dict[str, Any], local: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    gpus = _whole("trialGpuNumber", _get(data, "trialGpuNumber", "trial.gpuNum", 0) or 0, 0)
    resource_args: dict[str, Any] = {}
    if gpus:
        spec["resource"] = "gpu"
        resource_args["gpus_per_job"] = int(gpus)
    ids = _gpu_ids(local.get("gpuIndices"))
    if ids:
        resource_args["gpus"] = ids
    return resource_args
