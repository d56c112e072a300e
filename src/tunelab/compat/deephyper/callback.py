"""DeepHyper's evaluator callbacks (``deephyper.evaluator.callback``), accepted so that
scripts which pass them run unchanged.

tunelab's engine reports progress itself (``tunelab ls``, ``tunelab show``, the
dashboard), so a callback given in ``method_kwargs["callbacks"]`` is accepted with a
warning and not called.
"""

from __future__ import annotations

from typing import Any


class TqdmCallback:
    """DeepHyper's progress bar callback; accepted and not called (see the module).

    Example:
        >>> TqdmCallback("Failure Strategy: ignore").description
        'Failure Strategy: ignore'
    """

    def __init__(self, description: str | None = None, **_options: Any) -> None:
        self.description = description


__all__ = ["TqdmCallback"]
