"""Run one job of a Studio.ml sweep: substitute the values into a copy, run it, report.

Usage (the command ``tunelab sweep`` writes into the spec)::

    python -m tunelab.formats.studio_runner [--metric val_loss:min | --fitness-optional] \\
        [--workdir DIR] CONFIG_JSON train.py [script args...]

The runner builds a workspace in the job's folder (the folder of ``CONFIG_JSON``): a
copy of the script with the values substituted (see :func:`tunelab.formats.studio.substitute`)
and links to every other entry of the working directory, so imports and data files
resolve as in Studio.ml's copy of the working directory while the originals are never
written by tunelab. The script runs there as a child process; its output is forwarded.
The objective is the last ``fitness: <value>`` line, or with ``--metric`` the last,
smallest or largest value of that TensorBoard scalar in the event files written under
the workspace. It is reported with :func:`tunelab.trial.report`. With
``--fitness-optional`` (a grid sweep without ``--metric``) a script that prints no
``fitness:`` line ends with nothing reported, and the job finishes with no result.

Exit codes: the script's own code when it fails; 3 when no objective was found.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tunelab import _protocol as protocol
from tunelab import trial
from tunelab.formats.studio import aggregate, group_arrays, parse_metric, read_scalars, substitute

NO_OBJECTIVE = 3
"""Exit code of a job that ran but produced no objective."""

_FITNESS = re.compile(r"^\s*[Ff]itness\s*:\s*(?P<value>\S+)")


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tunelab.formats.studio_runner")
    parser.add_argument("--metric", default=None, help="TensorBoard scalar, with :min or :max")
    parser.add_argument("--fitness-optional", action="store_true",
                        help="without --metric, a script that prints no fitness line reports nothing")
    parser.add_argument("--workdir", default=".", help="the folder the script's copy mirrors")
    parser.add_argument("config", help="the job's config.json")
    parser.add_argument("script", help="the script, relative to --workdir")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    return parser.parse_args(list(argv))


def load_values(config_path: str | Path) -> dict[str, Any]:
    """The job's values by script variable (array elements folded into lists)."""
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    return group_arrays({k: v for k, v in config.items() if not k.startswith(protocol.RESERVED)})


def make_workspace(workdir: Path, script: Path, workspace: Path, values: dict[str, Any]) -> Path:
    """Fill ``workspace`` with links to ``workdir``'s entries and the substituted script.

    Returns:
        the path of the script's copy.
    """
    if workspace.exists():
        shutil.rmtree(workspace)
    workspace.mkdir(parents=True)
    relative = script.resolve().relative_to(workdir.resolve())
    _mirror(workdir.resolve(), workspace, relative.parts, workspace.resolve())
    copy = workspace / relative
    copy.write_text(substitute(script.read_text(encoding="utf-8"), values), encoding="utf-8")
    return copy


def _mirror(source: Path, target: Path, keep: tuple[str, ...], workspace: Path) -> None:
    """Link ``source``'s entries into ``target``; the directories leading to the script
    (``keep``) are made real so the script's copy can sit beside the links."""
    for entry in source.iterdir():
        if workspace == entry or entry in workspace.parents:
            continue
        if keep and entry.name == keep[0]:
            if len(keep) > 1:
                (target / entry.name).mkdir()
                _mirror(entry, target / entry.name, keep[1:], workspace)
            continue
        (target / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())


def run_script(copy: Path, workspace: Path, args: Sequence[str]) -> tuple[int, float | None]:
    """Run the copy from ``workspace``, forwarding its output.

    Returns:
        the script's exit code and the value of its last ``fitness:`` line (or None).
    """
    fitness = None
    with subprocess.Popen([sys.executable, str(copy), *args], cwd=workspace,
                          stdout=subprocess.PIPE, text=True, bufsize=1) as process:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            match = _FITNESS.match(line)
            if match:
                try:
                    fitness = float(match["value"])
                except ValueError:
                    print(f"tunelab: ignoring unreadable fitness line {line.strip()!r}", file=sys.stderr)
    return process.returncode, fitness


def objective(workspace: Path, metric: str | None, fitness: float | None) -> float:
    """The job's objective from ``--metric`` or the fitness line.

    Raises:
        LookupError: no value was found; the message says where tunelab looked.
    """
    tag, mode = parse_metric(metric)
    if tag is None:
        if fitness is None:
            raise LookupError("the script printed no 'fitness: <value>' line; print one, or pass --metric")
        return fitness
    values = read_scalars(workspace, tag)
    if not values:
        raise LookupError(f"no TensorBoard scalar {tag!r} in event files under {workspace}; write the logs "
                          "to a relative folder that does not exist in the working directory")
    return aggregate(values, mode)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one job; returns the exit code."""
    options = _arguments(sys.argv[1:] if argv is None else argv)
    workdir = Path(options.workdir).resolve()
    script = (workdir / options.script).resolve()
    workspace = Path(options.config).resolve().parent / "workspace"
    copy = make_workspace(workdir, script, workspace, load_values(options.config))
    code, fitness = run_script(copy, workspace, options.args)
    if code != 0:
        return code
    if fitness is None and options.metric is None and options.fitness_optional:
        return 0
    try:
        value = objective(workspace, options.metric, fitness)
    except LookupError as exc:
        print(f"tunelab: {exc}", file=sys.stderr)
        return NO_OBJECTIVE
    trial.report(value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
