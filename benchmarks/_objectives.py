"""Trivial objectives for ``overhead.py``: they return at once, so only overhead is timed.

They live in their own module because tunelab's worker processes import a function
objective by name (``_objectives:trivial``).
"""

from __future__ import annotations

from typing import Any

N_PARAMS = 5
"""Parameters in the benchmark space: ``x0`` … ``x4``, floats in [-5, 5]."""

LOW, HIGH = -5.0, 5.0


def space() -> list[dict[str, Any]]:
    """tunelab's ``parameter_config`` for the benchmark space."""
    return [{"name": f"x{i}", "type": "float", "range": [LOW, HIGH]} for i in range(N_PARAMS)]


def trivial(config: dict[str, float]) -> float:
    """tunelab objective: the sum of squares, returned immediately."""
    return float(sum(config[f"x{i}"] ** 2 for i in range(N_PARAMS)))


def optuna_trivial(trial: Any) -> float:
    """The same objective for Optuna (``trial.suggest_float`` over the same space)."""
    return float(sum(trial.suggest_float(f"x{i}", LOW, HIGH) ** 2 for i in range(N_PARAMS)))


SCRIPT = '''\
"""A trivial trial script: read the config, print the value."""
from tunelab.trial import load_config

config = load_config()
print(f"#Auptimizer:{sum(v * v for v in config.values())}")
'''
"""Source of the trivial script used for the script-job benchmark."""
