"""Grid search (Auptimizer's ``sequence``) and an explicit list of configs (``batch``)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from tunelab.proposers._base import JobView, Proposal, Proposer
from tunelab.proposers._registry import register
from tunelab.space import Config, Space

_MEASURED = 1_000_000
"""Most grid points one parameter may have (its values are listed in memory)."""


class _ListProposer(Proposer):
    """Proposes a fixed sequence of configs in order, skipping those already run or
    known from earlier experiments, then is exhausted.

    The sequence is walked lazily with one config of look-ahead (to know when it ends),
    so a grid of billions of points costs nothing until it is walked. Proposals are
    started as soon as they are made, and a resumed search replays the started jobs
    before its first proposal, so nothing behind the cursor is still to do.
    """

    multi_objective = True

    def __init__(self, space: Space, *, seed: int = 0) -> None:
        super().__init__(space, seed=seed)
        self._done: set[str] = set()
        self._cursor: Iterator[Config] | None = None
        self._next: Config | None = None

    @property
    def finite(self) -> bool:
        return True

    def _configs(self) -> Iterable[Config]:
        raise NotImplementedError

    def _advance(self) -> Config | None:
        """The next config of the sequence not done yet (None at the end)."""
        if self._cursor is None:
            self._cursor = iter(self._configs())
        for config in self._cursor:
            if self.space.key(config) not in self._done:
                return config
        return None

    def propose(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        out: list[Proposal] = []
        if self._next is None or self.space.key(self._next) in self._done:
            self._next = self._advance()
        while self._next is not None and len(out) < n:
            out.append(Proposal(dict(self._next)))
            self._done.add(self.space.key(self._next))
            self._next = self._advance()
        self.exhausted = self._next is None
        return out

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
        for name, count in wanted.items():
            if count > _MEASURED:
                raise ValueError(f"{name!r} would have {count:,} grid points, more than {_MEASURED:,}; "
                                 f"give it fewer (`n` or `points`)")
        self._wanted = wanted

    @property
    def size(self) -> int:
        """How many points the grid has at most (every conditional parameter counted as
        active), found without walking it."""
        return math.prod(len(p.grid(self._wanted[p.name])) for p in self.space)

    def _configs(self) -> Iterable[Config]:
        return self.space.grid(self._wanted)


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
