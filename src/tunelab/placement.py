"""Where jobs run when the caller says so from outside the experiment: ``--resource`` and
``--scheduler`` on the command line, or ``$TUNELAB_RESOURCE`` and ``$TUNELAB_SCHEDULER``
(read by ``tunelab run`` too, and by programs that build their experiment themselves, a
DeepHyper search script), so the same file or script moves onto a Dask cluster without
an edit.
"""

from __future__ import annotations

import os
from typing import Any

from tunelab.exceptions import UserError

RESOURCE_ENV = "TUNELAB_RESOURCE"
"""Environment variable overriding the ``resource`` of experiments built by a program."""

SCHEDULER_ENV = "TUNELAB_SCHEDULER"
"""Environment variable naming a Dask scheduler (``tcp://host:8786``) for experiments built
by a program; like ``--scheduler``, it implies ``resource`` ``dask``."""


def placement(data: dict[str, Any], resource: str | None, scheduler: str | None, *,
              names: tuple[str, str] = ("--resource", "--scheduler")) -> dict[str, Any]:
    """The ``resource`` and ``resource_args`` that override the experiment ``data``'s: a
    scheduler address replaces the file's ``cluster`` and keeps its other resource options.

    Args:
        names: how the caller gave ``resource`` and ``scheduler`` (for error messages).

    Raises:
        UserError: a scheduler with a resource other than dask.

    Example:
        >>> placement({"resource_args": {"cluster": {"kind": "local"}, "lapse": 9}}, None, "tcp://h:8786")
        {'resource': 'dask', 'resource_args': {'lapse': 9, 'scheduler': 'tcp://h:8786'}}
    """
    if scheduler is None:
        return {"resource": resource} if resource else {}
    if resource not in (None, "dask"):
        raise UserError(f"{names[0]}: {names[1]} runs on Dask, so {names[0]} must be dask, got {resource!r}")
    args = {k: v for k, v in (data.get("resource_args") or {}).items() if k != "cluster"}
    return {"resource": "dask", "resource_args": {**args, "scheduler": scheduler}}


def option_name(flag: str, env: str, value: str | None) -> str:
    """How the user gave ``value``: the environment variable ``env`` when it holds that
    value, else the command-line option ``flag`` (for error messages).

    Example:
        >>> option_name("--scheduler", "TUNELAB_TEST_UNSET_VARIABLE", "tcp://h:8786")
        '--scheduler'
    """
    return f"${env}" if value is not None and value == os.environ.get(env) else flag


def placement_from_env(data: dict[str, Any]) -> dict[str, Any]:
    """:func:`placement` from ``$TUNELAB_RESOURCE`` and ``$TUNELAB_SCHEDULER`` (empty: unset)."""
    return placement(data, os.environ.get(RESOURCE_ENV) or None, os.environ.get(SCHEDULER_ENV) or None,
                     names=(f"${RESOURCE_ENV}", f"${SCHEDULER_ENV}"))


def cluster_threads(scheduler: str, timeout: float = 10.0) -> int | None:
    """How many tasks the workers of the Dask scheduler at ``scheduler`` run at once (the
    sum of their threads), or None when it cannot be reached or has no worker yet (the
    run's own connection then says why in one line)."""
    try:
        from distributed import Client
    except ImportError:
        return None
    try:
        with Client(scheduler, timeout=timeout) as client:
            return sum(client.nthreads().values()) or None
    except (OSError, TimeoutError, ValueError):
        return None
