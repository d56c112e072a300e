"""Shared pieces of the successive-halving family: budgets, the synchronous bracket
core, option checks, and the proposer that draws new configurations.

Everything here but :class:`ConfigSource` is pure: no I/O, no clock, no global RNG.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tunelab.proposers._base import FINISHED, JobView, Proposal, Proposer
from tunelab.space import Config, Space

FAILED_LOSS = math.inf


def check_eta(eta: Any) -> float:
    """``eta`` as a number > 1 (the ratio between budgets and the fraction kept)."""
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not eta > 1:
        raise ValueError(f"`eta` must be a number > 1, but got {eta!r}")
    return float(eta)


def check_budgets(min_budget: Any, max_budget: Any) -> tuple[float, float]:
    """The budget bounds, checked: positive numbers with ``min_budget < max_budget``."""
    for label, value in (("min_budget", min_budget), ("max_budget", max_budget)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"`{label}` must be a positive number, but got {value!r}")
    if not min_budget < max_budget:
        raise ValueError(f"`min_budget < max_budget` must hold, but got ({min_budget}, {max_budget})")
    return min_budget, max_budget


def rung_budgets(min_budget: float, max_budget: float, eta: float) -> list[float]:
    """Budgets ``max_budget * eta**-k`` not below ``min_budget``, ascending.

    Integers when both bounds are integers (epochs), so a rung never asks for 2.7 epochs.

    Example:
        >>> rung_budgets(1, 81, 3)
        [1, 3, 9, 27, 81]
    """
    count = int(math.floor(math.log(max_budget / min_budget) / math.log(eta) + 1e-9)) + 1
    raw = [max_budget * eta ** -(count - 1 - k) for k in range(count)]
    if isinstance(min_budget, int) and isinstance(max_budget, int):
        return list(dict.fromkeys(max(min_budget, round(b)) for b in raw))
    return raw


def hyperband_sizes(n_budgets: int, eta: float, skip_last: int = 0) -> list[list[int]]:
    """Rung sizes of every Hyperband bracket, most exploratory first (Li et al., 2018).

    Bracket ``s`` (from ``s_max = n_budgets - 1`` down to 0) starts
    ``ceil((s_max + 1) / (s + 1) * eta**s)`` configs and keeps ``floor(n * eta**-i)`` at
    its rung ``i``; ``skip_last`` drops the last rung of each bracket (Auptimizer).

    Example:
        >>> hyperband_sizes(5, 3)
        [[81, 27, 9, 3, 1], [34, 11, 3, 1], [15, 5, 1], [8, 2], [5]]
    """
    s_max = n_budgets - 1
    out = []
    for s in range(s_max, -1, -1):
        n = math.ceil((s_max + 1) / (s + 1) * eta**s - 1e-9)
        sizes = [int(math.floor(n * eta**-i + 1e-9)) for i in range(s + 1)]
        out.append(sizes[:len(sizes) - skip_last] if skip_last else sizes)
    return out


class Bracket:
    """Synchronous successive halving over fixed rung sizes (one Hyperband bracket).

    Rung ``i`` holds ``sizes[i]`` configs; when every member of rung ``i`` has a result,
    its best ``sizes[i + 1]`` (failed members never) move up to rung ``i + 1``.
    Members are config ids; a loss of None means the job is still running.

    Args:
        index: the bracket's number in the run (0, 1, ...).
        sizes: configs per rung.
        budgets: the budget of each rung.

    Example:
        >>> b = Bracket(0, [3, 1], [1, 3])
        >>> b.runnable()
        [(0, None), (0, None), (0, None)]
        >>> for cid, loss in (("a", 0.3), ("b", 0.1), ("c", 0.2)):
        ...     b.add(0, cid); b.record(0, cid, loss)
        >>> b.runnable()
        [(1, 'b')]
    """

    def __init__(self, index: int, sizes: Sequence[int], budgets: Sequence[float]) -> None:
        self.index = index
        self.sizes = list(sizes)
        self.budgets = list(budgets)
        self.rungs: list[dict[str, float | None]] = [{} for _ in sizes]

    def add(self, rung: int, cid: str) -> None:
        """A job of config ``cid`` started (or was proposed) at ``rung``."""
        self.rungs[rung].setdefault(cid, None)

    def record(self, rung: int, cid: str, loss: float) -> None:
        """The job of ``cid`` at ``rung`` ended with ``loss`` (``inf`` when it failed)."""
        self.rungs[rung][cid] = loss

    def _complete(self, rung: int) -> bool:
        members = self.rungs[rung]
        return len(members) >= self._target(rung) and all(v is not None for v in members.values())

    def _target(self, rung: int) -> int:
        """Configs rung ``rung`` will hold: its size, fewer if too few survived below."""
        if rung == 0:
            return self.sizes[0]
        survivors = sum(v is not None and v < FAILED_LOSS for v in self.rungs[rung - 1].values())
        return min(self.sizes[rung], survivors)

    def _ranked(self, rung: int) -> list[str]:
        """Members with a finite loss, best first (ties by id, for determinism)."""
        done = [(v, cid) for cid, v in self.rungs[rung].items() if v is not None and v < FAILED_LOSS]
        return [cid for _, cid in sorted(done)]

    def runnable(self) -> list[tuple[int, str | None]]:
        """Work that can start now: ``(0, None)`` per missing new config, ``(rung, cid)``
        per promotion, best first."""
        work: list[tuple[int, str | None]] = [(0, None)] * (self.sizes[0] - len(self.rungs[0]))
        for rung in range(1, len(self.sizes)):
            if not self._complete(rung - 1):
                break
            chosen = self._ranked(rung - 1)[:self._target(rung)]
            work += [(rung, cid) for cid in chosen if cid not in self.rungs[rung]]
        return work

    @property
    def done(self) -> bool:
        """True when the last rung with any members to come has all its results."""
        for rung in range(len(self.sizes)):
            if not self._complete(rung):
                return False
            if rung + 1 < len(self.sizes) and self._target(rung + 1) == 0:
                return True
        return True

    def best(self) -> tuple[str, float] | None:
        """The best config of the highest rung with a finite result, with its loss."""
        for rung in range(len(self.sizes) - 1, -1, -1):
            ranked = self._ranked(rung)
            if ranked:
                return ranked[0], float(self.rungs[rung][ranked[0]])  # type: ignore[arg-type]
        return None

    def __repr__(self) -> str:
        rows = []
        for i, members in enumerate(self.rungs):
            shown = ", ".join(f"{cid}={'…' if v is None else f'{v:.4g}'}" for cid, v in members.items())
            rows.append(f"  rung {i} budget={self.budgets[i]} {len(members)}/{self.sizes[i]}: {shown}")
        return f"Bracket({self.index}, done={self.done})\n" + "\n".join(rows)


def rank_by_fidelity(results: dict[float, list[JobView]], key: Callable[[JobView], str]) -> list[JobView]:
    """Each config once, best first: by the largest budget it reached, then by its loss there.

    ``key`` names a job's config. A config's entry is its job at that budget, renumbered
    with the number of its first job, so that the order of first appearance (which
    samplers use to weigh old results less) is kept. Ties go to the config seen first.

    Example:
        >>> from tunelab.space import Float
        >>> space = Space([Float("x", 0, 1)])
        >>> job = lambda n, x, loss, b: JobView(n, {"x": x}, FINISHED, loss, b)
        >>> results = {1: [job(0, 0.1, 0.2, 1), job(1, 0.5, 0.6, 1)], 3: [job(2, 0.5, 0.9, 3)]}
        >>> ranked = rank_by_fidelity(results, lambda job: space.key(job.config))
        >>> [(j.number, j.config["x"], j.loss) for j in ranked]
        [(1, 0.5, 0.9), (0, 0.1, 0.2)]
    """
    furthest: dict[str, JobView] = {}
    first: dict[str, int] = {}
    for budget, jobs in results.items():
        for job in jobs:
            name = key(job)
            first[name] = min(job.number, first.get(name, job.number))
            if name not in furthest or budget > furthest[name].budget:
                furthest[name] = JobView(job.number, job.config, FINISHED, job.loss, budget)
    for name, job in furthest.items():
        job.number = first[name]
    return sorted(furthest.values(), key=lambda j: (-j.budget, j.loss, j.number))


class ConfigSource:
    """Draws new configurations from any registered proposer (random, tpe, ...).

    A model-based sampler learns from every configuration evaluated so far, each once,
    at the largest budget it reached: configs that went further rank above all that
    stopped earlier, and within a budget the lower loss ranks higher. The sampler is
    told these ranks as losses (``0`` is best). Thousands of cheap low-budget results
    then shape the model as much as the few full ones (Optuna's TPE treats pruned trials
    the same way), where a model of one budget alone starves for data: the largest
    budget has few results, the smallest ranks configs by their early behaviour only.

    The sampler is rebuilt when the ranking has changed since its last draw, so its
    state is a pure function of the results (a resumed search draws as the serial one).

    Args:
        name: the sampler's registry name.
        space: the search space.
        seed: the seed of the search.
        options: the sampler's options.
    """

    def __init__(self, name: str, space: Space, seed: int, options: dict[str, Any] | None = None) -> None:
        from tunelab.proposers._registry import create

        self._make = lambda: create(name, space, seed=seed, options_=dict(options or {}))
        self.name = name
        self.space = space
        self.sampler: Proposer = self._make()
        self._ranking: list[int] = []
        self._keys: dict[int, str] = {}

    def _key(self, job: JobView) -> str:
        """The config's key, computed once per job (the ranking is redone at every draw)."""
        if job.number not in self._keys:
            self._keys[job.number] = self.space.key(job.config)
        return self._keys[job.number]

    def _sync(self, results: dict[float, list[JobView]], min_budget: float) -> None:
        """Rebuild the sampler from the ranked results when the ranking has changed."""
        ranked = rank_by_fidelity({b: jobs for b, jobs in results.items() if b >= min_budget}, self._key)
        ranking = [job.number for job in ranked]
        if ranking == self._ranking:
            return
        self.sampler, self._ranking = self._make(), ranking
        for rank, job in sorted(enumerate(ranked), key=lambda r: r[1].number):
            view = JobView(job.number, dict(job.config), FINISHED, float(rank), job.budget)
            self.sampler.on_job_started(view)
            self.sampler.observe(view)

    def draw(self, count: int, n_drawn: int, results: dict[float, list[JobView]],
             running: Sequence[JobView], min_budget: float = 0.0) -> list[Config]:
        """Up to ``count`` new configs; ``n_drawn`` (configs drawn so far) seeds them.

        The sampler learns only from results at ``min_budget`` or above: a caller that
        has found lower budgets to rank configs unlike the full one keeps them out.
        """
        if self.name != "random":  # random search ignores results; ranking them would only cost time
            self._sync(results, min_budget)
        out: list[Config] = []
        for i in range(count):
            self.sampler.n_proposed = n_drawn + i
            fresh: Iterable[Proposal] = self.sampler.propose(1, running)
            out += [p.config for p in fresh]
        return out[:count]
