"""Grid search (Auptimizer's ``sequence``) and an explicit list of configs (``batch``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tunelab.proposers._base import JobView, Proposal, Proposer
from tunelab.proposers._registry import register
from tunelab.space import Config, Space


class _ListProposer(Proposer):
    """Proposes a fixed sequence of configs in order, skipping those already run or
    known from earlier experiments, then is exhausted."""

    def __init__(self, space: Space, *, seed: int = 0) -> None:
        super().__init__(space, seed=seed)
        self._done: set[str] = set()

    @property
    def finite(self) -> bool:
        return True

    def _configs(self) -> list[Config]:
        raise NotImplementedError

    def propose(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        todo = [c for c in self._configs() if self.space.key(c) not in self._done]
        if len(todo) <= n:
            self.exhausted = True
        return [Proposal(dict(c)) for c in todo[:n]]

    def on_job_started(self, job: JobView) -> None:
        self._done.add(self.space.key(job.config))

    def observe(self, job: JobView) -> None:
        """Only marks the config as done: a fixed list ignores results."""
        self._done.add(self.space.key(job.config))


@register
class GridProposer(_ListProposer):
    """Every combination of per-parameter grids, in order.

    Continuous parameters get ``n`` evenly spaced values (from their ``n`` or
    ``interval`` in ``parameter_config``, else ``points``); discrete ones all values.

    Args:
        points: grid points per continuous parameter without its own ``n``.
        counts: points per parameter name (filled from ``parameter_config``).
    """

    name = "sequence"

    def __init__(self, space: Space, *, seed: int = 0, points: int = 10,
                 counts: dict[str, int] | None = None) -> None:
        super().__init__(space, seed=seed)
        if int(points) < 1:
            raise ValueError(f"`points` must be at least 1, got {points}")
        names = set(space.names)
        for name, count in (counts or {}).items():
            if name not in names or int(count) < 1:
                raise ValueError(f"counts[{name!r}] must name a parameter and be >= 1, got {count!r}")
        wanted = {p.name: int(points) for p in space}
        wanted.update({k: int(v) for k, v in (counts or {}).items()})
        self._grid = list(space.grid(wanted))

    def _configs(self) -> list[Config]:
        return self._grid


@register
class BatchProposer(_ListProposer):
    """Runs exactly the configs listed, in order (NNI's BatchTuner).

    Args:
        configs: the configurations to run.
    """

    name = "batch"

    def __init__(self, space: Space, *, seed: int = 0, configs: list[dict[str, Any]] | None = None) -> None:
        super().__init__(space, seed=seed)
        if not configs:
            raise ValueError("batch needs `configs`: a non-empty list of configurations")
        self._list = [space.validate(c, where=f"configs[{i}]") for i, c in enumerate(configs)]

    def _configs(self) -> list[Config]:
        return self._list
