"""DeepHyper's ``Evaluator`` and job object, and the adapter that calls ``run`` in a worker.

Workers never receive a pickled function. The search runs the top-level
:func:`run_job` as tunelab's objective and puts the reference of the user's ``run``
(``"package.module:function"``, or ``"/abs/path/script.py:function"`` for functions of
``__main__``) in the jobs' environment (:data:`RUN_ENV`, with :data:`KWARGS_ENV`), so
the spec stays JSON and a resumed search finds the same function.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import json
import math
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tunelab import _protocol as protocol
from tunelab import trial
from tunelab.exceptions import JobFailed, UserError

RUN_ENV = "TUNELAB_DEEPHYPER_RUN"
"""Environment variable naming the run function of a DeepHyper search."""

KWARGS_ENV = "TUNELAB_DEEPHYPER_RUN_KWARGS"
"""Environment variable holding ``run_function_kwargs`` as JSON."""

_importing = 0

_METHODS = ("serial", "thread", "process", "subprocess", "ray", "loky", "mpicomm", "mpipool")
"""Every ``method`` of every DeepHyper release (``subprocess`` 0.3-0.4, ``mpipool`` 0.4, ``loky`` 0.9 on)."""
_MPI_LAUNCHERS = (("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), ("PMI_RANK", "PMI_SIZE"),
                  ("MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE"))
"""The rank and size variables that Open MPI, MPICH (and Intel MPI) and MVAPICH give each
process their ``mpirun`` starts."""
_IGNORED_KWARGS = ("callbacks", "storage", "search_id", "comm", "root", "num_cpus_per_task", "num_gpus_per_task",
                   "address", "password", "ray_kwargs", "num_gpus")


class Job(dict):
    """What ``run`` receives: ``job.parameters`` and ``job.id`` (DeepHyper 0.6 on), and the
    plain dict of the parameters that older releases passed (``config["x"]``, ``json.dumps``).

    Example:
        >>> job = Job({"x": 1.0}, job_id="7")
        >>> job["x"], job.parameters, job.id, dict(job)
        (1.0, {'x': 1.0}, '7', {'x': 1.0})
    """

    def __init__(self, parameters: dict[str, Any], job_id: str | None = None) -> None:
        super().__init__(parameters)
        self.parameters = dict(parameters)
        self.id = job_id

    @property
    def args(self) -> dict[str, Any]:
        """DeepHyper's other name for :attr:`parameters`."""
        return self.parameters

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, parameters={self.parameters!r})"

    def record(self, budget: float, objective: float) -> None:
        """Report an intermediate objective at ``budget`` (DeepHyper's ``RunningJob.record``)."""
        trial.report_intermediate(objective, step=int(budget))

    def stopped(self) -> bool:
        """True when tunelab stopped this job early."""
        return trial.should_stop()


def reference(fn: Callable[..., Any]) -> str:
    """An importable ``module:qualname`` (or ``path.py:qualname``) for a top-level function.

    Raises:
        UserError: a lambda, a nested function or a function without a source file.
    """
    qualname = getattr(fn, "__qualname__", "")
    if not qualname or "<" in qualname:
        raise UserError(f"run function: {fn!r} must be a top-level function (def run(job): ...), "
                        "not a lambda, a closure or a nested function")
    module = sys.modules.get(fn.__module__)
    path = getattr(module, "__file__", None)
    if fn.__module__ == "__main__" or getattr(module, "__spec__", None) is None or fn.__module__.startswith("tunelab_user_"):
        if not path:
            raise UserError(f"run function: {qualname!r} is defined interactively; move it into a .py file")
        return f"{Path(path).resolve()}:{qualname}"
    return f"{fn.__module__}:{qualname}"


def import_target(target: str) -> Any:
    """Import a module by dotted name, or a ``.py`` file by path (its folder joins ``sys.path``).

    Raises:
        UserError: the file does not exist.
    """
    if target.endswith(".py"):
        path = Path(target).resolve()
        name = f"tunelab_user_{path.stem}_{abs(hash(str(path)))}"
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None or not path.is_file():
                raise UserError(f"import: {str(path)!r} is not an importable .py file; check the path")
            if str(path.parent) not in sys.path:
                sys.path.insert(0, str(path.parent))
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                with _importing_user_code():
                    spec.loader.exec_module(module)
            except SearchDuringImport:
                pass  # a script that starts its search unguarded: what it defined up to there is kept
            except BaseException:
                del sys.modules[name]
                raise
        return sys.modules[name]
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    with _importing_user_code():
        return importlib.import_module(target)


@contextlib.contextmanager
def _importing_user_code() -> Iterator[None]:
    global _importing
    _importing += 1
    try:
        yield
    finally:
        _importing -= 1


class SearchDuringImport(UserError):
    """A search started while tunelab imports the user's module in a worker.

    Importing a script by path stops at that line and keeps the module as far as it ran
    (its ``run`` is defined above the search), so a script without
    ``if __name__ == "__main__":`` works as under DeepHyper's thread and serial evaluators.
    Imported by module name, the import fails with this message.
    """


def importing_user_code() -> bool:
    """True while tunelab imports the user's module (a search started then would recurse)."""
    return _importing > 0


def load(ref: str) -> Callable[..., Any]:
    """The function a :func:`reference` names.

    Raises:
        UserError: the module or the attribute does not exist.
    """
    target, sep, qualname = ref.rpartition(":")
    if not sep or not target or not qualname:
        raise UserError(f"run function: {ref!r} must look like module:function or path/to/file.py:function")
    try:
        obj: Any = import_target(target)
    except ImportError as exc:
        raise UserError(f"run function: cannot import {target!r} ({exc}); check the name and sys.path") from None
    for part in qualname.split("."):
        if not hasattr(obj, part):
            raise UserError(f"run function: {target!r} has no attribute {qualname!r}; check the name")
        obj = getattr(obj, part)
    return obj


@functools.lru_cache(maxsize=8)
def _cached(ref: str) -> Callable[..., Any]:
    return load(ref)


def translate_output(output: Any) -> float | dict[str, float]:
    """Turn what a DeepHyper ``run`` returned into a tunelab objective result.

    A number is the objective (maximized); in a multi-objective experiment, the value of
    every objective, as DeepHyper has it. A tuple gives the objectives of a
    multi-objective experiment, in the order of its ``objectives``.
    ``{"objective": x, "metadata": {...}}`` adds the numeric metadata as extra values. A
    string starting with ``"F"`` is a failure.

    Raises:
        JobFailed: a failure string, a missing or non-numeric objective.
    """
    metadata: dict[str, Any] = {}
    if isinstance(output, dict):
        if "objective" not in output:
            raise JobFailed(f"F: run returned a dict without 'objective': keys {sorted(output)}")
        metadata = output.get("metadata") or {}
        output = output["objective"]
    if isinstance(output, str):
        raise JobFailed(output if output.startswith("F") else f"F: run returned the string {output!r}")
    extra = {k: float(v) for k, v in metadata.items()
             if isinstance(v, (int, float)) and not isinstance(v, bool) and not k.startswith("_")}
    if isinstance(output, (tuple, list)):
        return {**extra, **_objectives(output)}
    if isinstance(output, bool) or not isinstance(output, (int, float)) or math.isnan(float(output)):
        raise JobFailed(f"F: run must return a number, got {output!r}")
    names = protocol.objective_names()
    if names:  # DeepHyper gives a single value to every objective of a multi-objective search
        return {**extra, **{name: float(output) for name in names}}
    return {"value": float(output), **extra} if extra else float(output)


def _objectives(output: tuple | list) -> dict[str, float]:
    """A multi-objective result: one value per objective of the experiment, in order."""
    names = protocol.objective_names()
    if len(output) != len(names):
        has = f"{len(names)} objectives ({', '.join(names)})" if names else "a single objective"
        raise JobFailed(f"F: run returned {len(output)} objectives, but the experiment has {has}")
    for value in output:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise JobFailed(f"F: run must return numbers, got {output!r}")
    return {name: float(value) for name, value in zip(names, output, strict=True)}


def run_job(config: dict[str, Any]) -> float | dict[str, float]:
    """tunelab's objective for DeepHyper searches: call the ``run`` named by :data:`RUN_ENV`
    with a :class:`Job`, and translate what it returns.

    Raises:
        UserError: :data:`RUN_ENV` is not set (the spec was not made by this package).
    """
    ref = os.environ.get(RUN_ENV)
    if not ref:
        raise UserError(f"run_job: the environment variable {RUN_ENV} is not set; run DeepHyper searches "
                        "through tunelab.compat.deephyper")
    run = _cached(ref)
    parameters = {k: v for k, v in config.items() if not k.startswith(protocol.RESERVED)}
    job = Job(parameters, os.environ.get(protocol.ENV_JOB_ID))
    return translate_output(run(job, **json.loads(os.environ.get(KWARGS_ENV) or "{}")))


def job_env(run_ref: str, run_function_kwargs: dict[str, Any] | None = None) -> dict[str, str]:
    """The job environment that makes :func:`run_job` call ``run_ref``.

    Raises:
        UserError: ``run_function_kwargs`` is not JSON.
    """
    try:
        kwargs = json.dumps(run_function_kwargs or {})
    except TypeError:
        raise UserError("Evaluator.create: run_function_kwargs must be JSON values (numbers, strings, "
                        "lists, dicts); load bigger objects inside run") from None
    return {RUN_ENV: run_ref, KWARGS_ENV: kwargs}


def mpi_place() -> tuple[int, int]:
    """This process's rank among the processes an MPI launcher (``mpirun``, ``mpiexec``)
    started, and their number: ``(0, 1)`` without a launcher."""
    for rank, size in _MPI_LAUNCHERS:
        if rank in os.environ:
            return int(os.environ[rank]), int(os.environ.get(size, 1))
    return 0, 1


def _workers(method: str, kwargs: dict[str, Any]) -> int:
    if method not in _METHODS:
        raise UserError(f"Evaluator.create: method {method!r} is not supported; use one of {', '.join(_METHODS)}")
    if method == "serial":
        return 1
    workers = kwargs.get("num_workers", kwargs.get("num_cpus", 1))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UserError(f"Evaluator.create: method_kwargs['num_workers'] must be a positive int, got {workers!r}")
    return workers


class Evaluator:
    """Runs ``run`` on tunelab's worker processes; build it with :meth:`create`.

    ``sized`` is False when the method's options leave the number of workers open (as
    DeepHyper's ``ray`` and ``mpicomm`` do, taking it from their cluster): the search then
    runs ``num_workers`` jobs at a time locally (1, or under ``mpirun -np N`` with
    ``mpicomm``, N - 1 as DeepHyper does), and as many as the cluster has threads on a
    Dask scheduler (``$TUNELAB_SCHEDULER``).

    Like DeepHyper's, it is a context manager: ``with Evaluator.create(run,
    method="mpicomm") as evaluator:`` gives the evaluator to the first rank of an
    ``mpirun`` and None to the others, so the search runs once (tunelab's own worker
    processes run the jobs; the other ranks end at once).

    Example:
        >>> from tunelab.compat.deephyper.evaluator import translate_output as run
        >>> Evaluator.create(run, method="process", method_kwargs={"num_workers": 2}).num_workers
        2
    """

    def __init__(self, run_function: Callable[..., Any], num_workers: int = 1,
                 run_function_kwargs: dict[str, Any] | None = None, *, sized: bool = True,
                 root: bool = True) -> None:
        self.run_function = run_function
        self.num_workers = num_workers
        self.sized = sized
        self.root = root
        self.run_function_kwargs = dict(run_function_kwargs or {})
        self.env = job_env(reference(run_function), self.run_function_kwargs)

    @classmethod
    def create(cls, run_function: Callable[..., Any], method: str = "serial",
               method_kwargs: dict[str, Any] | None = None) -> Evaluator:
        """DeepHyper's constructor: ``method`` and ``method_kwargs['num_workers']`` set the parallelism.

        Raises:
            UserError: an unknown method or option.
        """
        kwargs = dict(method_kwargs or {})
        known = {"num_workers", "num_cpus", "run_function_kwargs", *_IGNORED_KWARGS}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise UserError(f"Evaluator.create: method_kwargs[{unknown[0]!r}] is unknown; valid keys: {', '.join(sorted(known))}")
        ignored = sorted(set(kwargs) & set(_IGNORED_KWARGS))
        if ignored:
            warnings.warn(f"Evaluator.create: tunelab ignores method_kwargs {ignored}", stacklevel=2)
        sized = method == "serial" or "num_workers" in kwargs or "num_cpus" in kwargs
        workers = _workers(method, kwargs)
        rank, size = mpi_place() if method == "mpicomm" else (0, 1)
        if not sized and size > 1:
            workers = size - 1
        return cls(run_function, workers, kwargs.get("run_function_kwargs"), sized=sized, root=rank == 0)

    def __enter__(self) -> Evaluator | None:
        """The evaluator on the first rank of an ``mpirun`` (or without one), None on the others."""
        return self if self.root else None

    def __exit__(self, *exc_info: object) -> None:
        return None

    @property
    def objective(self) -> Callable[..., Any]:
        """The objective tunelab's workers import and call: :func:`run_job`."""
        return run_job
