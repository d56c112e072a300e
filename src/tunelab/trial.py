"""What a training script imports: read the job's config, report results, learn to stop.

This module uses only the standard library, so importing it costs nothing and it works
the same in a local process, on an SSH host, on a Dask worker and in a function trial.

Example:
    A script tuned by tunelab, that also runs by hand with its defaults::

        from tunelab import trial

        config = trial.load_config(defaults={"lr": 0.1, "units": 32})
        for epoch in range(10):
            loss = train_one_epoch(config["lr"], config["units"])
            if trial.report_intermediate(loss, step=epoch):
                break  # tunelab stopped this job early
        trial.report(loss, accuracy=0.93)
"""

from __future__ import annotations

import functools
import json
import operator
import os
import sys
from collections.abc import Callable

from tunelab import _protocol as protocol

TYPE_CHECKING = False  # not typing's: a training script should not pay for importing typing
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "Config",
    "TrialStopped",
    "budget",
    "checkpoint_dir",
    "load_config",
    "model_dir",
    "objective",
    "report",
    "report_extra",
    "report_intermediate",
    "report_returned",
    "should_stop",
]

_RAISE_ON_STOP_ENV = "TUNELAB_RAISE_ON_STOP"


class TrialStopped(Exception):
    """Raised inside a function trial at its next report once tunelab stopped it."""


class Config(dict):
    """The job's configuration: a dict that also allows attribute access."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"config has no parameter {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


def _config_path(path: str | None) -> str | None:
    if path:
        return path
    if len(sys.argv) > 1 and sys.argv[1].endswith(".json") and os.path.exists(sys.argv[1]):
        return sys.argv[1]
    return os.environ.get(protocol.ENV_CONFIG)


def load_config(path: str | None = None, defaults: dict | None = None) -> Config:
    """Return the job's configuration.

    The config file comes from ``path``, else ``argv[1]`` (Auptimizer's convention), else
    the ``TUNELAB_CONFIG`` environment variable. Run by hand with none of these, the
    script gets ``defaults``. Values in the file override the defaults.

    Args:
        path: explicit path of a JSON config file.
        defaults: values used for parameters the file does not set.
    """
    config = Config(defaults or {})
    source = _config_path(path)
    if source:
        with open(source, encoding="utf-8") as handle:
            config.update(json.load(handle))
    return config


def _emit(record: protocol.Report) -> None:
    target = os.environ.get(protocol.ENV_REPORT_FILE)
    line = record.to_json()
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    else:
        print(protocol.PREFIX + line, flush=True)


def _float(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise TypeError(f"{what} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a number, got {value!r}") from None
    except OverflowError:
        raise TypeError(f"{what} must fit in a float, got an integer of {value.bit_length()} bits") from None


def report(value: float | dict[str, float] | None = None, **extra: float) -> None:
    """Report the job's final value (the one optimized) and optional extra named values.

    With several objectives, name each: ``report(accuracy=0.93, latency_ms=12)`` or
    ``report({"accuracy": 0.93, "latency_ms": 12})``.
    """
    if isinstance(value, dict):
        extra, value = {**value, **extra}, None
    if value is None and not extra:
        raise TypeError("report() needs a value, or named values like report(accuracy=0.9, latency_ms=12)")
    _emit(protocol.Report("final", value=None if value is None else _float(value, "value"),
                          extra={k: _float(v, k) for k, v in extra.items()}))


def report_extra(**extra: float) -> None:
    """Record extra named values without ending the job."""
    _emit(protocol.Report("extra", extra={k: _float(v, k) for k, v in extra.items()}))


def _step(step: Any) -> int:
    """A step as an int: any integer (NumPy's too) or a whole float; never a bool or text."""
    if isinstance(step, float) and step.is_integer():
        return int(step)
    try:
        if not isinstance(step, bool):
            return operator.index(step)
    except TypeError:
        pass
    raise TypeError(f"step must be a whole number (an epoch, an iteration), got {step!r}")


def report_intermediate(value: float, step: int) -> bool:
    """Report an intermediate value at ``step`` (an epoch, an iteration).

    Returns:
        True when tunelab wants the job to stop; the script should finish quickly.

    Raises:
        TrialStopped: in a function trial that tunelab stopped.
    """
    _emit(protocol.Report("intermediate", value=_float(value, "value"), step=_step(step)))
    stop = should_stop()
    if stop and os.environ.get(_RAISE_ON_STOP_ENV):
        raise TrialStopped(f"stopped early at step {step}")
    return stop


def should_stop() -> bool:
    """True when tunelab has asked this job to stop early."""
    stop_file = os.environ.get(protocol.ENV_STOP_FILE)
    return bool(stop_file) and os.path.exists(stop_file)


def _env_path(name: str) -> str | None:
    path = os.environ.get(name)
    if path:
        os.makedirs(path, exist_ok=True)
    return path


def model_dir() -> str | None:
    """Folder for the model when this run is the ``save_model`` run, else ``None``."""
    return _env_path(protocol.ENV_MODEL_DIR)


def checkpoint_dir() -> str | None:
    """Folder that belongs to this configuration across budgets (resume training here)."""
    return _env_path(protocol.ENV_CHECKPOINT_DIR)


def budget() -> float | None:
    """The job's budget (epochs, iterations) under multi-fidelity search, else ``None``."""
    raw = os.environ.get(protocol.ENV_BUDGET)
    return float(raw) if raw else None


def report_returned(result: Any) -> None:
    """Report what an objective returned: a number, a dict with ``value``/``objective``, or
    with several objectives a dict naming each or a tuple of them in order."""
    if result is None:
        return
    names = protocol.objective_names()
    if isinstance(result, (tuple, list)):
        if len(result) != len(names):
            raise TypeError(f"an objective returned {len(result)} values, but the experiment has "
                            f"{len(names)} objectives {names}; return one value per objective, in order")
        result = dict(zip(names, result))
    if isinstance(result, dict):
        values = dict(result)
        key = next((k for k in ("value", "objective", "default", "loss") if k in values), None)
        if key is None and not (names and set(names) <= set(values)):
            raise TypeError(f"an objective's dict must have a 'value' key, got keys {sorted(values)}")
        main = values.pop(key) if key else None
        extra = {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        report(main, **extra)
    else:
        report(result)


def objective(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ``def main(lr, units, ...) -> float`` into a runnable trial script.

    Called with no arguments (as ``main()`` under ``if __name__ == "__main__"``), the
    wrapper loads the job's config, passes the parameters it names as keyword arguments
    (the function's own defaults fill the rest) and reports the returned value. Called
    with arguments, it behaves as the plain function.

    Example:
        ::

            @trial.objective
            def main(lr: float = 0.1, units: int = 32) -> float:
                return (lr - 0.01) ** 2 + units / 1000

            if __name__ == "__main__":
                main()
    """
    import inspect  # here, not at the top: only decorated objectives pay for it

    signature = inspect.signature(fn)
    takes_all = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return fn(*args, **kwargs)
        config = load_config()
        chosen = config if takes_all else {k: v for k, v in config.items() if k in signature.parameters}
        result = fn(**chosen)
        report_returned(result)
        return result

    return wrapper

