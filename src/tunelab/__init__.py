"""tunelab: hyperparameter optimization for the training scripts you already have.

Heavy parts (engine, storage, proposers) are imported lazily, so ``import tunelab.trial``
in a training script costs nothing.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # not typing's: ``import tunelab.trial`` should not pay for importing typing
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "run": ("tunelab.api", "run"),
    "resume": ("tunelab.api", "resume"),
    "load": ("tunelab.api", "load"),
    "ExperimentResult": ("tunelab.results", "ExperimentResult"),
    "ExperimentSpec": ("tunelab.spec", "ExperimentSpec"),
    "Space": ("tunelab.space", "Space"),
    "Optimizer": ("tunelab.optimizer", "Optimizer"),
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'tunelab' has no attribute {name!r}")
