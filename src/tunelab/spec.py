"""The experiment spec: the one internal model every front-end translates into.

The native keys follow Auptimizer's ``experiment.json``. :func:`parse_spec` checks a
plain dict and reports every problem at once, one line each, naming the field, the bad
value and the fix.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from tunelab._protocol import RESERVED
from tunelab.exceptions import SpecError
from tunelab.space import Choice, Constant, Float, Int, Ordinal, Param, Space

_STRICT = ConfigDict(extra="forbid", populate_by_name=True)

NAME_LIMIT = 200
"""Most characters in an experiment's name (every database stores it; it names folders)."""
SEED_LIMIT = 2**31 - 1
"""Largest ``random_seed``: what every database's integer column holds."""
PARALLEL_LIMIT = 10_000
"""Most jobs run at once (``n_parallel``)."""


def check_name(value: str) -> str:
    """An experiment name as given, if every database can store it and it can name folders.

    Raises:
        ValueError: empty, longer than :data:`NAME_LIMIT`, or holding a control character.
    """
    if not value:
        raise ValueError("expected a name, got ''")
    if len(value) > NAME_LIMIT:
        raise ValueError(f"got a name of {len(value):,} characters; use at most {NAME_LIMIT}")
    control = next((c for c in value if unicodedata.category(c).startswith("C")), None)
    if control is not None:
        raise ValueError(f"contains the control character {control!r}, got {value!r}; use printable characters")
    return value


def _not_bool(value: Any) -> Any:
    """JSON's ``true`` is not the number 1 here: a count given as a boolean is a mistake."""
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    return value


Whole = Annotated[int, BeforeValidator(_not_bool)]
"""An integer field that refuses booleans."""


class JobFailure(BaseModel):
    """What to do when a job fails (Auptimizer's ``job_failure``)."""

    model_config = _STRICT
    job_retries: Whole = Field(0, ge=0)
    ignore_fail: StrictBool = False


class ResourceArgs(BaseModel):
    """Per-resource options (Auptimizer's ``resource_args``)."""

    model_config = _STRICT
    save_model: StrictBool = False
    multi_res_labels: list[str] = Field(default_factory=list)
    track_intermediate_results: StrictBool = False
    gpus: list[int] = Field(default_factory=list, description="GPU ids handed out to jobs; ids may repeat")
    gpus_per_job: Whole = Field(1, ge=1)
    early_stop: dict[str, Any] | None = None
    scheduler: str | None = Field(None, description="resource dask: address of a running Dask scheduler")
    cluster: dict[str, Any] | None = Field(
        None, description="resource dask: a cluster tunelab starts, {\"kind\": local|ssh|slurm|pbs|sge|lsf, ...}")
    worker_timeout: float = Field(60.0, gt=0, description="resource dask: seconds to wait for a first worker")
    resources: dict[str, float] = Field(
        default_factory=dict, description="resource dask: Dask worker resources each job needs, e.g. {\"GPU\": 1}")
    lapse: float = Field(30.0, gt=0, description="resource dask: seconds of silence from the coordinator after "
                                                 "which workers stop its trials")

    @field_validator("cluster")
    @classmethod
    def _cluster(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        from tunelab.executors.kinds import CLUSTER_KINDS

        if value is not None and value.get("kind", "local") not in CLUSTER_KINDS:
            raise ValueError(f"kind must be one of {', '.join(CLUSTER_KINDS)}, got {value.get('kind')!r}")
        return value


class RuntimeArgs(BaseModel):
    """Process options (Auptimizer's ``runtime_args``)."""

    model_config = _STRICT
    env: dict[str, str] = Field(default_factory=dict)
    grace_period: float = Field(5.0, ge=0, description="seconds between SIGTERM and SIGKILL")


def parse_duration(value: Any) -> float | None:
    """Seconds from a number or a string like ``"90s"``, ``"30m"``, ``"1h"``, ``"2d"``."""
    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        return None if value is None else float(value)
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([smhd]?)\s*", str(value))
    if not match:
        raise ValueError(f"expected seconds or a duration like '30m' or '1h', got {value!r}")
    factor = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return float(match.group(1)) * factor


class Objective(BaseModel):
    """One objective of a multi-objective experiment: a reported value's name and direction."""

    model_config = _STRICT
    name: str = Field(min_length=1)
    target: Literal["min", "max"] = "min"


class ExperimentSpec(BaseModel):
    """One experiment: what to run, over which space, how to search and where."""

    model_config = _STRICT
    name: str = Field(min_length=1)
    script: str | None = None
    command: list[str] | None = None
    function: str | None = Field(None, description="objective as module:qualname (Python API)")
    proposer: str = "auto"
    proposer_args: dict[str, Any] = Field(default_factory=dict)
    n_samples: Whole | None = Field(None, ge=1)
    random_seed: Whole | None = Field(None, ge=0, le=SEED_LIMIT)
    parameter_config: list[dict[str, Any]]
    target: Literal["min", "max"] = "min"
    objectives: list[Objective] | None = Field(None, description="several objectives; `target` is then unused")
    n_parallel: Whole = Field(1, ge=1, le=PARALLEL_LIMIT)
    resource: Literal["cpu", "gpu", "passive", "dask"] = "cpu"
    workingdir: str = "."
    job_failure: JobFailure = Field(default_factory=JobFailure)
    resource_args: ResourceArgs = Field(default_factory=ResourceArgs)
    runtime_args: RuntimeArgs = Field(default_factory=RuntimeArgs)
    job_timeout: float | None = Field(None, gt=0)
    max_duration: float | None = Field(None, gt=0)
    initial_configs: list[dict[str, Any]] = Field(default_factory=list)
    history_from: list[str] = Field(default_factory=list, description="experiments whose results seed the search")
    require_result: StrictBool = Field(True, description="False: a job that exits cleanly without reporting a value "
                                                   "finishes with no result instead of failing")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("job_timeout", "max_duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return parse_duration(value)

    @field_validator("objectives")
    @classmethod
    def _objectives(cls, value: list[Objective] | None) -> list[Objective] | None:
        if value is None:
            return value
        if len(value) < 2:
            raise ValueError(f"expected at least 2 objectives like [{{\"name\": \"accuracy\", \"target\": \"max\"}}, "
                             f"{{\"name\": \"latency_ms\", \"target\": \"min\"}}]; for one, use `target`, "
                             f"got {len(value)}")
        names = [o.name for o in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"objective names must differ, but {twice[0]!r} appears twice; rename one")
        return value

    @field_validator("command")
    @classmethod
    def _command(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("must be a non-empty argv list like [\"python\", \"train.py\", \"{config}\"]")
        return value

    @model_validator(mode="after")
    def _what_to_run(self) -> ExperimentSpec:
        if sum(bool(x) for x in (self.script, self.command, self.function)) > 1:
            raise ValueError("give one of `script`, `command` or `function`, not several")
        args = self.resource_args
        if self.resource == "dask" and bool(args.scheduler) == bool(args.cluster):
            raise ValueError("resource \"dask\" needs one of resource_args.scheduler (\"tcp://host:8786\") or "
                             "resource_args.cluster ({\"kind\": \"local\", \"n_workers\": 4}), not "
                             + ("both" if args.scheduler else "neither"))
        return self

    @property
    def main_target(self) -> str:
        """Direction of the job's main value: the first objective's, or ``target``."""
        return self.objectives[0].target if self.objectives else self.target

    @property
    def tracks_printed_results(self) -> bool:
        """Every ``#Auptimizer:`` line a job prints is an intermediate value (Auptimizer
        does so with ``track_intermediate_results`` or an ``early_stop`` block)."""
        return self.resource_args.track_intermediate_results or bool(self.resource_args.early_stop)

    @property
    def space(self) -> Space:
        """The search space built from ``parameter_config``."""
        return build_space(self.parameter_config)

    def grid_counts(self) -> dict[str, int]:
        """Grid points per parameter from Auptimizer's ``n`` / ``interval`` keys."""
        counts: dict[str, int] = {}
        for entry in self.parameter_config:
            if "n" in entry:
                counts[entry["name"]] = int(entry["n"])
            elif "interval" in entry:
                low, high = entry["range"]
                counts[entry["name"]] = int(math.floor((high - low) / entry["interval"] + 1e-9)) + 1
        return counts


BUDGET_NAME_KEY = "budget_name"
"""Key (top level or in ``proposer_args``) naming the config key that carries a job's budget."""

_TYPE_ALIASES = {"float": "float", "real": "float", "double": "float", "int": "int", "integer": "int",
                 "choice": "choice", "categorical": "choice", "cat": "choice", "bool": "choice",
                 "ordinal": "ordinal", "constant": "constant", "const": "constant"}
_ENTRY_KEYS = {"name", "type", "range", "log", "step", "q", "n", "interval", "when", "value", "default",
               "prior", "mu", "sigma", "round_to"}


def _entry_problem(entry: dict[str, Any], where: str) -> tuple[Param | None, list[str]]:
    problems: list[str] = []
    if not isinstance(entry, dict):
        return None, [f"{where}: expected an object like {{\"name\": \"lr\", \"type\": \"float\", "
                      f"\"range\": [0.001, 0.1]}}, got {entry!r}"]
    for key in entry:
        if key not in _ENTRY_KEYS:
            close = difflib.get_close_matches(key, sorted(_ENTRY_KEYS), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(sorted(_ENTRY_KEYS))}"
            problems.append(f"{where}.{key}: unknown key; {hint}")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        problems.append(f"{where}.name: expected a non-empty string, got {name!r}")
    elif name.startswith(RESERVED):
        problems.append(f"{where}.name: {name!r} starts with {RESERVED!r}, which tunelab keeps for its own "
                        f"config keys; rename the parameter")
    raw_type = entry.get("type", "float")
    kind = _TYPE_ALIASES.get(str(raw_type).lower()) if isinstance(raw_type, str) else None
    if kind is None:
        problems.append(f"{where}.type: unknown type {raw_type!r}; use one of float, int, choice, ordinal, "
                        f"constant, bool")
    if problems:
        return None, problems
    try:
        param = _build_param(entry, kind, name)
        if "default" in entry:
            try:
                param.validate(entry["default"])
            except ValueError as exc:
                raise _FieldError("default", str(exc)) from None
        return param, []
    except _FieldError as exc:
        return None, [f"{where}.{exc.field}: {exc}"]
    except ValueError as exc:
        return None, [f"{where}: {exc}"]


class _FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _build_param(entry: dict[str, Any], kind: str, name: str) -> Param:
    when = entry.get("when")
    if when is not None and not isinstance(when, dict):
        raise _FieldError("when", f"expected {{\"parent\": value or [values]}}, got {when!r}")
    if str(entry.get("type", "")).lower() == "bool":
        return Choice(name, [True, False], when=when)
    if kind == "constant":
        if "value" in entry:
            return Constant(name, entry["value"], when=when)
        values = entry.get("range")
        if isinstance(values, list) and len(values) == 1:
            return Constant(name, values[0], when=when)
        if values is not None and not isinstance(values, list):
            return Constant(name, values, when=when)
        raise _FieldError("value", "a constant needs `value` (or a one-element `range`), got none; "
                                   "add \"value\": <the value>")
    values = entry.get("range")
    if entry.get("prior", "uniform") != "uniform":
        return _prior_param(entry, kind, name, when)
    if kind in ("choice", "ordinal"):
        if not isinstance(values, list) or not values:
            raise _FieldError("range", f"expected a non-empty list of values, got {values!r}")
        cls = Choice if kind == "choice" else Ordinal
        try:
            return cls(name, values, when=when)
        except ValueError as exc:
            raise _FieldError("range", str(exc)) from None
    if (not isinstance(values, list) or len(values) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            or not values[0] < values[1]):
        raise _FieldError("range", f"expected [low, high] with low < high, got {values!r}")
    step = entry.get("step", entry.get("q"))
    log = entry.get("log", False)
    if not isinstance(log, bool):
        raise _FieldError("log", f"expected true or false, got {log!r}")
    if log and values[0] <= 0:
        raise _FieldError("range", f"a log-scale parameter needs low > 0, got {values!r}")
    for key in ("n", "interval"):
        if key in entry and (isinstance(entry[key], bool) or not isinstance(entry[key], (int, float))
                             or entry[key] <= 0):
            raise _FieldError(key, f"expected a positive number, got {entry[key]!r}")
    if kind == "int" and not all(float(v).is_integer() for v in values):
        raise _FieldError("range", f"an int parameter needs integer bounds, got {values!r}")
    try:
        if kind == "int":
            return Int(name, values[0], values[1], log=log, step=step, when=when)
        return Float(name, values[0], values[1], log=log, step=step, q=entry.get("round_to"), when=when)
    except ValueError as exc:
        raise _FieldError(_culprit(str(exc), entry), str(exc)) from None


def _culprit(message: str, entry: dict[str, Any]) -> str:
    """Which key of a parameter entry a space error is about."""
    if "`q`" in message:
        return "round_to" if "round_to" in entry else "q"
    if "`step`" in message:
        return "step" if "step" in entry else "q"
    return "range"


def _prior_param(entry: dict[str, Any], kind: str, name: str, when: dict | None) -> Param:
    """A float with a non-uniform prior (NNI's and DeepHyper's normal family)."""
    if kind != "float":
        raise _FieldError("prior", f"a prior needs type float, got type {entry.get('type')!r}")
    bounds = entry.get("range") or (None, None)
    if not isinstance(bounds, (list, tuple)) or len(bounds) != 2:
        raise _FieldError("range", f"expected [low, high] or no range with a prior, got {bounds!r}")
    try:
        return Float(name, bounds[0], bounds[1], log=bool(entry.get("log", False)), prior=entry["prior"],
                     mu=entry.get("mu"), sigma=entry.get("sigma"), q=entry.get("round_to"), when=when)
    except ValueError as exc:
        raise _FieldError("prior", str(exc)) from None


def build_space(parameter_config: list[dict[str, Any]]) -> Space:
    """Build the space from ``parameter_config``, reporting every bad entry.

    Raises:
        SpecError: one line per problem (``parameter_config[2].range: ...``).
    """
    if not isinstance(parameter_config, list) or not parameter_config:
        raise SpecError([f"parameter_config: expected a non-empty list of parameters, got {parameter_config!r}"])
    params: list[Param] = []
    problems: list[str] = []
    for i, entry in enumerate(parameter_config):
        param, found = _entry_problem(entry, f"parameter_config[{i}]")
        problems += found
        if param is not None:
            params.append(param)
    if problems:
        raise SpecError(problems)
    try:
        return Space(params)
    except ValueError as exc:
        raise SpecError([f"parameter_config: {exc}"]) from None


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "experiment"


def _pydantic_problems(error: ValidationError, data: dict[str, Any]) -> list[str]:
    problems = []
    for item in error.errors():
        loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and "[" in p))
        where = _loc(loc)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            parent = ExperimentSpec
            fields = sorted(parent.model_fields)
            close = difflib.get_close_matches(str(loc[-1]), fields, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "remove it"
            problems.append(f"{where}: unknown key; {hint}")
        elif item["type"] == "missing":
            problems.append(f"{where}: missing; this key is required")
        else:
            got = "" if "got" in message else f", got {item.get('input')!r}"
            problems.append(f"{where}: {message}{got}")
    return problems


_OWN_CHECKS = ("parameter_config", "initial_configs")
"""Fields whose problems :func:`build_space` and the space report better than pydantic."""


def parse_spec(data: dict[str, Any], *, default_name: str = "experiment") -> ExperimentSpec:
    """Check a plain dict and return the spec.

    Top-level keys that are options of the chosen proposer (Auptimizer writes them there)
    move into ``proposer_args``; any other unknown key is an error.

    Raises:
        SpecError: every problem found, one line each.
    """
    from tunelab import proposers

    if not isinstance(data, dict):
        raise SpecError([f"experiment: expected an object of keys, got {type(data).__name__}"])
    data = dict(data)
    data.setdefault("name", default_name)
    problems: list[str] = []
    proposer_name = data.get("proposer", "auto")
    try:
        accepted = set(proposers.options(proposer_name)) if isinstance(proposer_name, str) else set()
    except SpecError:
        raise
    except Exception as exc:  # unknown proposer: reported once, below
        problems.append(str(exc))
        accepted = set()
    given_args = data.get("proposer_args") or {}
    if not isinstance(given_args, dict):
        problems.append(f"proposer_args: expected an object of options like {{\"points\": 5}}, got {given_args!r}")
        given_args = {}
    args = dict(given_args)
    for key in list(data):
        if (key in accepted or key == BUDGET_NAME_KEY) and key not in ExperimentSpec.model_fields:
            args[key] = data.pop(key)
    data["proposer_args"] = args
    budget_name = args.get(BUDGET_NAME_KEY, "n_iterations")
    if not isinstance(budget_name, str) or not budget_name.isidentifier():
        problems.append(f"budget_name: expected the name of the config key that carries the budget, like "
                        f"\"n_iterations\", got {budget_name!r}")
    unknown = sorted(set(args) - accepted - {BUDGET_NAME_KEY}) if accepted or not problems else []
    for key in unknown:
        valid = ", ".join(sorted(accepted)) or "none"
        problems.append(f"proposer_args: {key!r} is not an option of proposer {proposer_name!r}; "
                        f"its options are: {valid}")
    spec = None
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        own = tuple(key for key in _OWN_CHECKS if key in data)
        problems += [p for p in _pydantic_problems(exc, data) if not (own and p.startswith(own))]
    if not isinstance(data.get("initial_configs", []), list):
        problems.append(f"initial_configs: expected a list of configs like [{{\"x\": 0.5}}], "
                        f"got {data['initial_configs']!r}")
        data["initial_configs"] = []
    if "parameter_config" in data:
        try:
            space = build_space(data["parameter_config"])
            for i, config in enumerate(data.get("initial_configs") or []):
                try:
                    space.validate(config, where=f"initial_configs[{i}]")
                except SpecError as exc:
                    problems += exc.problems
        except SpecError as exc:
            problems += exc.problems
    if spec is not None and spec.objectives and spec.resource_args.save_model:
        problems.append("resource_args.save_model: true saves the one best job, but with `objectives` the result "
                        "is a Pareto front; set it false")
    if not any(data.get(k) for k in ("script", "command", "function")) and data.get("resource") != "passive" \
            and not any(p.startswith(("script", "command")) for p in problems):
        problems.append("script: missing; set `script` (a path) or `command` (an argv list)")
    if problems:
        raise SpecError(list(dict.fromkeys(problems)))
    assert spec is not None
    return spec


def resolve_paths(spec: ExperimentSpec, base: Path) -> ExperimentSpec:
    """Make ``workingdir`` absolute, relative to the experiment file's folder."""
    workingdir = Path(spec.workingdir)
    if not workingdir.is_absolute():
        workingdir = (base / workingdir).resolve()
    return spec.model_copy(update={"workingdir": str(workingdir)})
