"""DeepHyper problem files on the command line: ``tunelab run problem.py --run module:run``.

The problem file is a Python module that builds an ``HpProblem`` (from
``tunelab.compat.deephyper``) at module level; ``--run`` names the run function.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tunelab.compat.deephyper.evaluator import import_target, job_env, load, reference, run_job
from tunelab.compat.deephyper.problem import HpProblem
from tunelab.exceptions import UserError

_PREFERRED = ("problem", "Problem", "hp_problem")


def find_problem(module: Any, where: str) -> HpProblem:
    """The module's ``HpProblem``: the one named ``problem``/``Problem``, else the only one.

    Raises:
        UserError: none, or several without a preferred name.
    """
    found = {name: value for name, value in vars(module).items() if isinstance(value, HpProblem)}
    for name in _PREFERRED:
        if name in found:
            return found[name]
    if len(found) == 1:
        return next(iter(found.values()))
    if not found:
        raise UserError(f"{where}: defines no HpProblem at module level; add `problem = HpProblem()` "
                        "(from tunelab.compat.deephyper import HpProblem)")
    raise UserError(f"{where}: defines several HpProblem objects ({', '.join(sorted(found))}); name the one to use `problem`")


def _run_reference(run_ref: str, problem_dir: Path) -> str:
    """An importable reference for ``--run``; ``module:function`` may live beside the problem file."""
    target, sep, qualname = run_ref.rpartition(":")
    if not sep or not target or not qualname:
        raise UserError(f"--run: {run_ref!r} must look like module:function or path/to/file.py:function")
    candidate = problem_dir / (target.replace(".", "/") + ".py")
    if not target.endswith(".py") and candidate.is_file():
        target = str(candidate)
    return reference(load(f"{target}:{qualname}"))


def spec_from_problem_file(path: str | Path, run_ref: str) -> tuple[dict[str, Any], Callable[..., Any]]:
    """The native spec dict and the objective for a DeepHyper problem file.

    The spec maximizes (DeepHyper's convention) with tunelab's ``smac`` proposer, the
    counterpart of DeepHyper's default CBO with a random-forest surrogate; the CLI may
    override any key (``n_samples``, ``n_parallel``, ``proposer`` ...). The objective is
    :func:`~tunelab.compat.deephyper.evaluator.run_job`, which finds ``run`` through the
    spec's ``runtime_args.env``.

    Args:
        path: the Python file that builds the ``HpProblem``.
        run_ref: ``module:function`` or ``file.py:function`` of the run function.

    Raises:
        UserError: the file, the problem or the run function cannot be found.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise UserError(f"problem file: {str(path)!r} does not exist; check the path")
    problem = find_problem(import_target(str(path)), path.name)
    ref = _run_reference(run_ref, path.parent)
    spec = {"name": path.stem, "proposer": "smac", "target": "max", **problem.to_spec(),
            "runtime_args": {"env": job_env(ref)}, "job_failure": {"ignore_fail": True}}
    return spec, run_job


__all__ = ["find_problem", "spec_from_problem_file"]
