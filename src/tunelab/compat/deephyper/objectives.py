"""Several objectives in a DeepHyper search: found from what ``run`` returns, as DeepHyper does.

DeepHyper learns the number of objectives from the first result: a ``run`` returning a
tuple makes the search multi-objective, with columns ``objective_0``, ``objective_1``, ...
tunelab needs the objectives before the first job, so a search starts with one objective;
:class:`ObjectiveWatch` stops it as soon as a job's ``run`` returned several (those first
jobs fail with the count), and :func:`multi_objective_spec` is the spec the search then
runs again from the start, with that many objectives, all maximized.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunelab.engine import Engine

MULTI_OBJECTIVE_PROPOSERS = {"smac": "parego", "gp": "parego", "tpe": "motpe", "evolution": "nsga2",
                             "random": "random"}
"""The proposer that replaces each single-objective one (``parego`` is DeepHyper's own
scalarized multi-objective CBO)."""

_SEVERAL = re.compile(r"run returned (\d+) objectives, but the experiment has a single objective")


def objective_names(count: int) -> list[str]:
    """DeepHyper's column names of ``count`` objectives.

    Example:
        >>> objective_names(2)
        ['objective_0', 'objective_1']
    """
    return [f"objective_{i}" for i in range(count)]


class ObjectiveWatch:
    """An ``on_change`` hook of :func:`tunelab.api.run`: when a job failed because ``run``
    returned several objectives, it records how many in :attr:`count` and lets the engine
    start no more jobs (those running end as they would)."""

    def __init__(self) -> None:
        self.count = 0
        self._seen: set[int] = set()

    def __call__(self, engine: Engine) -> None:
        if self.count:
            return
        for job_id, view in engine.views.items():
            if view.status != "failed" or job_id in self._seen:
                continue
            self._seen.add(job_id)
            found = _SEVERAL.search(engine.storage.job(job_id).error or "")
            if found:
                self.count = int(found.group(1))
                engine.draining = f"run returned {self.count} objectives; the search restarts with them"
                return


def multi_objective_spec(spec: dict[str, Any], count: int) -> dict[str, Any]:
    """``spec`` with ``count`` maximized objectives named as DeepHyper's columns, the
    matching multi-objective proposer and a new name."""
    out = {k: v for k, v in spec.items() if k not in ("target", "proposer_args")}
    out["name"] = f"{spec['name']}-moo"
    out["objectives"] = [{"name": name, "target": "max"} for name in objective_names(count)]
    out["proposer"] = MULTI_OBJECTIVE_PROPOSERS.get(spec["proposer"], "auto")
    return out


__all__ = ["MULTI_OBJECTIVE_PROPOSERS", "ObjectiveWatch", "multi_objective_spec", "objective_names"]
