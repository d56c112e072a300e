"""Auptimizer's script API on tunelab: change ``from aup import ...`` to
``from tunelab.compat.aup import BasicConfig, print_result, aup_args, aup_save_model``.

Example:
    An Auptimizer script, unchanged apart from its import::

        import sys
        from tunelab.compat.aup import BasicConfig, print_result

        config = BasicConfig().load(sys.argv[1])
        print_result((config.x - 2) ** 2)

    Or with the decorator, which loads the file, calls the module's ``*init*``
    functions with every value, then the function with the values it names::

        @aup_args
        def main(x, y=1.0):
            return (x - 2) ** 2 + y

        if __name__ == "__main__":
            main(sys.argv[1])

This module uses only the standard library. Configs are JSON; tunelab never unpickles,
so Auptimizer's ``.pkl`` configs are refused.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import shutil
import sys
from collections.abc import Callable
from typing import Any

from tunelab import trial

__all__ = ["BasicConfig", "aup_args", "aup_save_model", "print_result"]

_saved: dict[str, Any] = {"callback": None, "args": (), "kwargs": {}}


class BasicConfig(dict):
    """A dict with attribute access that loads and saves JSON (Auptimizer's ``BasicConfig``).

    Example:
        >>> config = BasicConfig(lr=0.1)
        >>> config.units = 32
        >>> config["units"], config.lr
        (32, 0.1)
    """

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"config has no key {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delattr__(self, key: str) -> None:
        del self[key]

    @staticmethod
    def _check_format(filename: str) -> None:
        if str(filename).lower().endswith(".pkl"):
            raise ValueError(f"{filename}: pickle configs are not read (unsafe); save the config as .json")
        if not str(filename).lower().endswith(".json"):
            raise ValueError(f"{filename}: unsupported config format; use a .json file")

    def load(self, filename: str) -> BasicConfig:
        """Update this config from a JSON file and return it.

        Raises:
            ValueError: the file is not ``.json``; TypeError: it does not hold an object.
        """
        self._check_format(filename)
        with open(filename, encoding="utf-8") as handle:
            data = json.load(handle)
        if not isinstance(data, dict):
            raise TypeError(f"{filename}: a config must be a JSON object, got {type(data).__name__}")
        self.update(data)
        return self

    def save(self, filename: str) -> None:
        """Write this config to a JSON file."""
        self._check_format(filename)
        with open(filename, "w", encoding="utf-8") as handle:
            json.dump(dict(self), handle)

    def to_flags(self, flags: Any) -> None:
        """Set the absl/TensorFlow ``FLAGS`` that this config names."""
        for name in flags:
            if name in self:
                setattr(flags, name, self[name])


def print_result(result: Any) -> None:
    """Print the result line exactly as Auptimizer's ``print_result`` does.

    Prints ``#Auptimizer:<result>`` on stderr (a list prints ``v1,v2,...``: the first is
    optimized, the others are labelled by ``resource_args.multi_res_labels``). tunelab
    reads the line as Auptimizer does: the last one printed is the job's result, and with
    ``track_intermediate_results`` or an ``early_stop`` block each one is also an
    intermediate value (step 1, 2, ...).
    """
    text = ",".join(str(r) for r in result) if isinstance(result, (list, tuple)) else str(result).lstrip()
    print(f"\n#Auptimizer:{text}", file=sys.stderr, flush=True)


def aup_save_model(callback_fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Register how to save the model; :func:`aup_args` calls it in the best job's rerun."""
    _saved.update(callback=callback_fn, args=args, kwargs=kwargs)


def _init_functions(module_globals: dict[str, Any]) -> list[Callable[..., Any]]:
    """The module's functions whose name contains ``init``, sorted by name (as Auptimizer)."""
    return [value for name, value in sorted(module_globals.items())
            if "init" in name and inspect.isfunction(value)]


def _model_folder(config: dict[str, Any]) -> str | None:
    if trial.model_dir():
        return trial.model_dir()
    if config.get("save_model") is True:
        return os.path.join("aup_models", str(config.get("folder_name", "model")))
    return None


def _save_model(config: dict[str, Any]) -> None:
    folder = _model_folder(config)
    if folder is None or _saved["callback"] is None:
        return
    if not trial.model_dir() and os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder, exist_ok=True)
    previous = os.getcwd()
    os.chdir(folder)
    try:
        _saved["callback"](*_saved["args"], **_saved["kwargs"])
    finally:
        os.chdir(previous)


def aup_args(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate an objective so ``main(config_file)`` runs it with the job's values.

    The wrapper loads the JSON config, overrides it with keyword arguments, calls every
    module-level function of the caller whose name contains ``init`` with all values,
    calls ``func`` with the values it names (its defaults fill the rest), prints the
    result with :func:`print_result`, and, when this job is the one that saves the model
    (``save_model: true`` in the config, or tunelab's model folder), calls the callback
    given to :func:`aup_save_model` inside ``aup_models/<folder_name>`` (or tunelab's
    model folder).

    Raises:
        ValueError: ``func`` needs a value that the config does not set.
    """
    parameters = inspect.signature(func).parameters

    @functools.wraps(func)
    def wrapper(filename: str | None = None, **overrides: Any) -> Any:
        caller = sys._getframe(1).f_globals
        config = BasicConfig(trial.load_config(filename))
        config.update(overrides)
        for init in _init_functions(caller):
            init(**config)
        for name, param in parameters.items():
            if name not in config and param.default is inspect.Parameter.empty:
                raise ValueError(f"`{name}` is required by {func.__name__}() but the config file "
                                 f"{filename} does not set it")
        value = func(**{k: v for k, v in config.items() if k in parameters})
        print_result(value)
        _save_model(config)
        return value

    return wrapper
