"""DeepHyper's solution selection objects (``deephyper.hpo.ArgMaxObsSelection``,
``ArgMaxEstSelection``), accepted as ``solution_selection=`` of a search.

The ``sol.p:<name>`` and ``sol.objective`` columns are always DeepHyper's ``argmax_obs``
solution (the best job so far). ``ArgMaxEstSelection``, the argmax of a surrogate's
estimate, is approximated by it with a warning: tunelab fits no separate model for it.
"""

from __future__ import annotations

import warnings
from typing import Any


class SolutionSelection:
    """Base of the selection objects; their options are accepted and not used."""

    def __init__(self, *args: Any, **options: Any) -> None:
        self.options = options


class ArgMaxObsSelection(SolutionSelection):
    """The best observed objective so far: what the ``sol.*`` columns hold."""


class ArgMaxEstSelection(SolutionSelection):
    """The argmax of a model's estimate; here approximated by :class:`ArgMaxObsSelection`."""

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        warnings.warn("ArgMaxEstSelection: tunelab's sol.* columns are the best observed job "
                      "(argmax_obs), not a model's estimate", stacklevel=2)


__all__ = ["ArgMaxEstSelection", "ArgMaxObsSelection", "SolutionSelection"]
