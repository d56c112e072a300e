"""A worker process for function trials: ``python -m tunelab.executors._worker REF``.

``REF`` names the objective as ``module:qualname`` or ``/path/to/file.py:qualname``.
The worker reads one JSON request per line on stdin (``{"key", "config", "env",
"folder"}``), calls the objective with the config, reports what it returns through
:mod:`tunelab.trial`, and answers one JSON line (``{"key", "error"}``) on its original
stdout. The user's prints go to the attempt's ``stdout``/``stderr`` files. Nothing is
pickled: configs and answers are JSON.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

from tunelab import trial


def resolve(ref: str) -> Callable[..., Any]:
    """Import the callable named by ``module:qualname`` or ``path.py:qualname``."""
    module_name, _, qualname = ref.rpartition(":")
    if module_name.endswith(".py"):
        spec = importlib.util.spec_from_file_location("__tunelab_objective__", module_name)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {module_name}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        sys.path.insert(0, os.path.dirname(os.path.abspath(module_name)))
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    target: Any = module
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def _run_one(objective: Callable[..., Any], request: dict[str, Any]) -> str | None:
    saved_env = dict(os.environ)
    os.environ.update(request["env"])
    os.environ[trial._RAISE_ON_STOP_ENV] = "1"
    folder = request["folder"]
    out = os.open(os.path.join(folder, "stdout"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    err = os.open(os.path.join(folder, "stderr"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    saved = os.dup(1), os.dup(2)
    os.dup2(out, 1)
    os.dup2(err, 2)
    try:
        trial.report_returned(objective(trial.Config(request["config"])))
        return None
    except trial.TrialStopped:
        return None
    except BaseException as exc:  # the user's code failed: recorded, never fatal
        traceback.print_exc()
        return f"{type(exc).__name__}: {exc}"
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (out, err, *saved):
            os.close(fd)
        os.environ.clear()
        os.environ.update(saved_env)


def main() -> None:
    """Serve requests until stdin closes (the coordinator has gone)."""
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    try:
        objective = resolve(sys.argv[1])
        channel.write(json.dumps({"ready": True}) + "\n")
    except BaseException as exc:
        channel.write(json.dumps({"ready": False, "error": f"cannot load objective {sys.argv[1]!r}: {exc}"}) + "\n")
        return
    for line in sys.stdin:
        request = json.loads(line)
        error = _run_one(objective, request)
        channel.write(json.dumps({"key": request["key"], "error": error}) + "\n")


if __name__ == "__main__":
    main()
