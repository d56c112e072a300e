"""A toy problem where the best learning rate changes during training (run by tunelab).

The "model" has one number, the share of the work still to do: ``remaining`` goes from 1
down to 0. A training step with learning rate ``lr`` removes ``RATE * gain`` of it, where
the gain is a Gaussian of ``log10(lr)`` (the exponential of a quadratic) centred on the
best learning rate *for the current state*: 10**-1.5 at the start, falling to 10**-3.5
near the end. Any fixed learning rate helps only while the optimum is near it and then
stalls; a schedule that follows the optimum finishes. That is the situation population-
based training is for (as in Ray Tune's PBT toy example, written anew here).

A budget unit (an "epoch") is ``STEPS_PER_UNIT`` steps. The state lives in the job's
checkpoint folder as JSON, so a job continues from whatever checkpoint it was given
(its own, or the better member's one that PBT copied in). The reported value is
``remaining`` (minimize it; below 0.05 counts as converged).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

STEPS_PER_UNIT = 10
RATE = 0.025
"""Share of the work a step with the best learning rate removes."""
WIDTH = 0.5
"""Decades of learning rate around the optimum within which a step still helps much."""
START, SPAN = -1.5, 2.0
"""log10 of the best learning rate at the start, and how many decades it falls by the end."""
CONVERGED = 0.05


def best_log_lr(remaining: float) -> float:
    """log10 of the best learning rate when ``remaining`` of the work is left."""
    return START - SPAN * (1.0 - remaining)


def train(remaining: float, lr: float, steps: int) -> float:
    """``remaining`` after ``steps`` steps with learning rate ``lr`` (deterministic)."""
    for _ in range(steps):
        gain = math.exp(-((math.log10(lr) - best_log_lr(remaining)) / WIDTH) ** 2)
        remaining = max(0.0, remaining - RATE * gain)
    return remaining


def load(folder: str | None) -> tuple[float, int]:
    """``(remaining, steps done)`` from a checkpoint folder (a fresh model without one)."""
    path = Path(folder or "") / "state.json"
    if folder and path.is_file():
        state = json.loads(path.read_text())
        return float(state["remaining"]), int(state["steps"])
    return 1.0, 0


def save(folder: str | None, remaining: float, steps: int) -> None:
    """Keep the state in the checkpoint folder, as JSON."""
    if folder:
        (Path(folder) / "state.json").write_text(json.dumps({"remaining": remaining, "steps": steps}))


def main() -> None:
    """Train from the checkpoint up to the job's budget, one report per epoch."""
    from tunelab import trial

    config = trial.load_config()
    budget = trial.budget() or config.get("epochs", 16)
    folder = trial.checkpoint_dir()
    remaining, steps = load(folder)
    for epoch in range(steps // STEPS_PER_UNIT + 1, int(round(budget)) + 1):
        remaining = train(remaining, float(config["lr"]), STEPS_PER_UNIT)
        steps = epoch * STEPS_PER_UNIT
        save(folder, remaining, steps)
        trial.report_intermediate(remaining, step=epoch)
    trial.report(remaining)


if __name__ == "__main__":
    main()
