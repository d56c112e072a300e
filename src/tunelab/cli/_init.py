"""``tunelab init`` (write an experiment file by asking) and ``tunelab validate``."""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from tunelab.cli._common import open_storage
from tunelab.exceptions import UserError

app = typer.Typer()

_SUFFIXES = (".json", ".yaml", ".yml", ".toml")


class Target(str, enum.Enum):
    """Direction of the optimization."""

    min = "min"
    max = "max"


def parse_param(text: str) -> dict[str, Any]:
    """``name:type:spec`` → a ``parameter_config`` entry.

    Forms: ``lr:float:1e-4:0.1[:log]``, ``units:int:16:256[:log]``,
    ``opt:choice:adam,sgd``, ``size:ordinal:16,32,64``, ``seed:constant:3``.
    """
    parts = text.split(":")
    if len(parts) < 3:
        raise UserError(f"--param: {text!r} must look like lr:float:0.0001:0.1[:log] or opt:choice:adam,sgd")
    name, kind, rest = parts[0], parts[1], parts[2:]
    if kind in ("choice", "ordinal"):
        return {"name": name, "type": kind, "range": [_scalar(v) for v in ":".join(rest).split(",")]}
    if kind == "constant":
        return {"name": name, "type": kind, "value": _scalar(":".join(rest))}
    if kind not in ("float", "int") or len(rest) not in (2, 3) or (len(rest) == 3 and rest[2] != "log"):
        raise UserError(f"--param: {text!r} must look like lr:float:0.0001:0.1[:log] or units:int:16:256")
    entry: dict[str, Any] = {"name": name, "type": kind, "range": [_scalar(rest[0]), _scalar(rest[1])]}
    if len(rest) == 3:
        entry["log"] = True
    return entry


def _scalar(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _ask(flag: str, value: Any, question: str, default: Any, interactive: bool,
         check: Callable[[Any], Any]) -> Any:
    """The ``flag``'s value, else the answer to ``question`` (asked again until ``check``
    accepts it), else ``default`` when nobody can answer."""
    if value is not None or not interactive:
        try:
            return check(default if value is None else value)
        except ValueError as exc:
            raise UserError(f"{flag}: {exc}") from None
    while True:
        answer = typer.prompt(question, default=default)
        try:
            return check(answer)
        except (ValueError, UserError) as exc:
            typer.echo(f"{exc}; try again", err=True)


def _text(value: Any) -> str:
    if not str(value).strip():
        raise ValueError("expected a non-empty answer")
    return str(value).strip()


def _proposer(value: Any) -> str:
    from tunelab import proposers

    proposers.get(str(value))
    return str(value)


def _count(value: Any) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(f"expected a whole number of at least 1, got {value!r}")
    return number


def _target(value: Any) -> str:
    try:
        return Target(str(value).strip().lower()).value
    except ValueError:
        raise ValueError(f"expected min or max, got {value!r}") from None


def _params(given: list[str], interactive: bool) -> list[dict[str, Any]]:
    params = [parse_param(p) for p in given]
    while not given and interactive:
        answer = typer.prompt("parameter (e.g. lr:float:1e-4:0.1:log; empty to finish)", default="",
                              show_default=False)
        if not answer:
            break
        try:
            params.append(parse_param(answer))
        except UserError as exc:
            typer.echo(f"{exc}; try again", err=True)
    if not params:
        raise UserError("--param: at least one parameter is needed, e.g. --param lr:float:0.0001:0.1:log")
    return params


def _dump(data: dict[str, Any], path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        import yaml

        return yaml.safe_dump(data, sort_keys=False)
    if suffix == ".toml":
        import tomli_w

        return tomli_w.dumps({k: v for k, v in data.items() if v is not None})
    return json.dumps(data, indent=2) + "\n"


@app.command()
def init(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write (.json, .yaml or .toml).")] = Path(
        "experiment.json"),
    name: Annotated[str | None, typer.Option(help="Experiment name.")] = None,
    script: Annotated[str | None, typer.Option(help="Training script, run as `script <config.json>`.")] = None,
    param: Annotated[list[str] | None, typer.Option(
        help="A parameter: lr:float:1e-4:0.1:log, units:int:16:256, opt:choice:adam,sgd (repeatable).")] = None,
    proposer: Annotated[str | None, typer.Option(help="Search algorithm.")] = None,
    n_samples: Annotated[int | None, typer.Option("--n-samples", help="Number of jobs.")] = None,
    n_parallel: Annotated[int | None, typer.Option("--n-parallel", help="Jobs at once.")] = None,
    target: Annotated[Target | None, typer.Option(help="min or max.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write an experiment file, asking for whatever the flags do not give."""
    from tunelab.spec import check_name, parse_spec

    interactive = sys.stdin.isatty()
    if output.suffix.lower() not in _SUFFIXES:
        raise UserError(f"--output: {str(output)!r} has an unknown extension; use .json, .yaml or .toml")
    if output.exists() and not force:
        raise UserError(f"--output: {str(output)!r} exists; pass --force to overwrite it or choose another path")
    params = _params(list(param or []), interactive)
    data = {
        "name": _ask("--name", name, "experiment name", output.stem, interactive, check_name),
        "script": _ask("--script", script, "training script", "train.py", interactive, _text),
        "proposer": _ask("--proposer", proposer, "proposer", "random", interactive, _proposer),
        "n_samples": _ask("--n-samples", n_samples, "number of jobs", 20, interactive, _count),
        "n_parallel": _ask("--n-parallel", n_parallel, "jobs at once", 1, interactive, _count),
        "target": _ask("--target", target.value if target else None, "target (min or max)", "min", interactive, _target),
        "parameter_config": params,
    }
    parse_spec(data)
    output.write_text(_dump(data, output), encoding="utf-8")
    typer.echo(f"wrote {output}; run it with `tunelab run {output}`")


@app.command()
def validate(
    experiment: Annotated[Path, typer.Argument(help="Experiment file to check.")],
    storage: Annotated[str | None, typer.Option(
        "--storage", help="Also check `history_from` against this database.")] = None,
) -> None:
    """Check an experiment file and what it needs (script, PATH, GPUs); print every problem, one line each."""
    from tunelab import checks
    from tunelab.api import check
    from tunelab.loader import load_experiment

    spec = load_experiment(experiment)
    proposer = check(spec)
    if storage is None:
        checks.before_recording(spec, proposer)
    else:
        store = open_storage(storage)
        try:
            checks.before_recording(spec, proposer, store)
        finally:
            store.close()
    typer.echo(f"{experiment}: valid ({spec.proposer}, {len(spec.parameter_config)} parameters, "
               f"n_samples={spec.n_samples}, n_parallel={spec.n_parallel})")
