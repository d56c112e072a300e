"""Checks that run before anything is recorded: can this experiment run here at all?

:func:`tunelab.spec.parse_spec` checks the file's shape; these checks look at the world
around it (the script on disk, the program on ``PATH``, the GPUs, the storage's other
experiments), so that a file that can never run is refused with one line per problem by
``tunelab validate`` and ``tunelab run`` instead of being recorded and failing its first
job.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from tunelab.exceptions import SpecError, StorageError, UserError

if TYPE_CHECKING:
    from tunelab.proposers import Proposer
    from tunelab.spec import ExperimentSpec
    from tunelab.storage import Storage

GRID_LIMIT = 1_000_000
"""Largest grid ``sequence`` runs in full when ``n_samples`` does not bound it."""


def before_recording(spec: ExperimentSpec, proposer: Proposer, storage: Storage | None = None) -> None:
    """Refuse an experiment that cannot run: every problem found, one line each.

    Args:
        spec: the parsed experiment, its ``workingdir`` resolved.
        proposer: the proposer built for it (for the grid's size).
        storage: where it will be recorded; ``history_from`` is checked against it.

    Raises:
        SpecError: one line per problem, naming the field, the value and the fix.
    """
    problems = _what_to_run(spec) + _resources(spec) + _early_stop(spec) + _grid(spec, proposer)
    if storage is not None:
        problems += _history(spec, storage)
    if problems:
        raise SpecError(problems)


def _what_to_run(spec: ExperimentSpec) -> list[str]:
    if spec.function or spec.resource in ("passive", "dask"):
        return []  # a function needs no file; Dask workers may see other folders than this machine
    workingdir = Path(spec.workingdir)
    if not workingdir.is_dir():
        return [f"workingdir: {spec.workingdir!r} is not a folder; create it or fix the path "
                f"(a relative one starts from the experiment file's folder, or for an Auptimizer file from the folder "
                f"you start in)"]
    if spec.script:
        return _script(spec.script, workingdir)
    if spec.command:
        return _program(spec.command[0], workingdir, spec.runtime_args.env.get("PATH"))
    return []


def _script(script: str, workingdir: Path) -> list[str]:
    path = Path(script) if Path(script).is_absolute() else workingdir / script
    if not path.is_file():
        return [f"script: {script!r} not found in {str(workingdir)!r}; fix the path, or set `workingdir` "
                f"to the script's folder"]
    if not script.endswith(".py") and not os.access(path, os.X_OK):
        return [f"script: {script!r} is not executable; run `chmod +x {path}`, or start it with its "
                f"interpreter: \"command\": {json.dumps(['bash', script, '{config}'])}"]
    return []


def _program(program: str, workingdir: Path, search_path: str | None) -> list[str]:
    if "{" in program:
        return []
    if "/" in program:
        path = Path(program) if Path(program).is_absolute() else workingdir / program
        if path.is_file() and os.access(path, os.X_OK):
            return []
        return [f"command[0]: {program!r} is not an executable file in {str(workingdir)!r}; fix the path "
                f"or run `chmod +x` on it"]
    if shutil.which(program, path=search_path or os.environ.get("PATH")):
        return []
    return [f"command[0]: {program!r} is not on PATH; install it, give its full path, or start the "
            f"script with an interpreter, like [\"python\", \"train.py\", \"{{config}}\"]"]


def _resources(spec: ExperimentSpec) -> list[str]:
    if spec.resource != "gpu":
        return []
    from tunelab.engine import visible_gpus

    args = spec.resource_args
    gpus = args.gpus or visible_gpus()
    if not gpus:
        return ["resource: \"gpu\" but no GPU was found ($CUDA_VISIBLE_DEVICES is empty and "
                "resource_args.gpus lists none); list GPU ids like \"gpus\": [0, 1] or use resource \"cpu\""]
    if args.gpus_per_job > len(gpus):
        return [f"resource_args.gpus_per_job: {args.gpus_per_job} is more than the {len(gpus)} GPUs "
                f"{gpus}; lower it or list more GPUs"]
    return []


def _early_stop(spec: ExperimentSpec) -> list[str]:
    early_stop = spec.resource_args.early_stop
    if not early_stop:
        return []
    from tunelab import stoppers

    try:
        stoppers.from_spec(early_stop)
    except UserError as exc:
        lines = str(exc).splitlines()
        return [line if line.startswith("resource_args") else
                f"resource_args.early_stop: {line.removeprefix('stopper: ')}" for line in lines]
    return []


def _grid(spec: ExperimentSpec, proposer: Proposer) -> list[str]:
    size = getattr(proposer, "size", None)
    if size is None or spec.n_samples is not None or size <= GRID_LIMIT:
        return []
    shown = f"{size:,}" if math.isfinite(size) else "infinitely many"
    return [f"n_samples: proposer {spec.proposer!r} would walk a grid of {shown} points, more than "
            f"{GRID_LIMIT:,}; set n_samples to run the first ones, or give fewer grid points (`n`) per parameter"]


def _history(spec: ExperimentSpec, storage: Storage) -> list[str]:
    problems = []
    for i, ref in enumerate(spec.history_from):
        try:
            storage.experiment(ref)
        except StorageError:
            problems.append(f"history_from[{i}]: no experiment {ref!r} in this storage; `tunelab ls` lists them, "
                            f"`tunelab import` brings in Auptimizer's history")
    return problems


__all__ = ["GRID_LIMIT", "before_recording"]
