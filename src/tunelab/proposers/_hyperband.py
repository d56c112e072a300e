"""Hyperband (Li et al., 2018): successive halving over brackets of different aggression.

The pure core is :class:`~tunelab.proposers._halving.Bracket`; this module is the thin
adapter that numbers brackets, names configs, draws new configs from an engine
proposer, and rebuilds everything from the job history.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tunelab.proposers._base import JobView, Proposal, Proposer
from tunelab.proposers._halving import (
    FAILED_LOSS,
    Bracket,
    ConfigSource,
    check_budgets,
    check_eta,
    hyperband_sizes,
    rung_budgets,
)
from tunelab.proposers._registry import register
from tunelab.space import Config, Space


class HalvingBrackets(Proposer):
    """Brackets of synchronous successive halving, run one after another and in parallel.

    Every proposal carries ``budget`` and ``info = {"bracket", "rung", "config_id"}``
    (plus ``"resume_from"``, the budget already trained, for a promotion), so rung
    membership and promotions are rows of the history. Replaying the history
    (``on_job_started`` then ``observe``/``on_job_failed``) rebuilds the same brackets.

    A free slot takes the first runnable work of the oldest open bracket: a promotion
    once a rung is complete, else a new config; when every open bracket waits on
    running jobs, the next bracket starts. A failed job loses its rung, so brackets
    always complete. Subclasses choose how new configs are drawn (:meth:`_draw`).

    Args:
        space: the search space.
        seed: the seed.
        budgets: the rung budgets, ascending.
        eta: the ratio between rung sizes.
        skip_last: drop the last rung of every bracket (Auptimizer's ``skip_last``).
        iterations: passes over the brackets before the search is exhausted; None repeats.
    """

    multi_fidelity = True

    def __init__(self, space: Space, *, seed: int, budgets: list[float], eta: float, skip_last: int = 0,
                 iterations: int | None = None) -> None:
        super().__init__(space, seed=seed)
        if skip_last not in (0, 1, False, True):
            raise ValueError(f"`skip_last` must be 0 or 1, but got {skip_last!r}")
        if iterations is not None and (isinstance(iterations, bool) or not isinstance(iterations, int)
                                       or iterations < 1):
            raise ValueError(f"`iterations` must be a positive integer or null, but got {iterations!r}")
        self.budgets = budgets
        s_max = len(budgets) - 1
        self._templates = []
        for sizes in hyperband_sizes(len(budgets), eta, int(skip_last)):
            first = s_max + 1 - len(sizes) - int(skip_last)
            if sizes:
                self._templates.append((sizes, budgets[first:first + len(sizes)]))
        self.iterations = iterations
        self.brackets: list[Bracket] = []
        self._configs: dict[str, Config] = {}
        self._results: dict[float, list[JobView]] = {}
        self._n_new = 0
        self._open = 0
        self._dry = False

    # -- history -------------------------------------------------------------------

    @property
    def finite(self) -> bool:
        return self.iterations is not None
    def _bracket(self, index: int) -> Bracket:
        while len(self.brackets) <= index:
            sizes, budgets = self._templates[len(self.brackets) % len(self._templates)]
            self.brackets.append(Bracket(len(self.brackets), sizes, budgets))
        return self.brackets[index]

    @staticmethod
    def _place(job: JobView) -> tuple[int, int, str] | None:
        info = job.info or {}
        if "bracket" not in info:
            return None
        return int(info["bracket"]), int(info["rung"]), str(info["config_id"])

    def on_job_started(self, job: JobView) -> None:
        place = self._place(job)
        if place is None:
            return
        index, rung, cid = place
        self._bracket(index).add(rung, cid)
        if cid not in self._configs:
            self._configs[cid] = dict(job.config)
            self._n_new += int(rung == 0)

    def observe(self, job: JobView) -> None:
        place = self._place(job)
        if place is None or job.loss is None:
            return
        index, rung, cid = place
        self._bracket(index).record(rung, cid, float(job.loss))
        self._results.setdefault(self._bracket(index).budgets[rung], []).append(job)
        self._refresh()

    def on_job_failed(self, job: JobView) -> None:
        place = self._place(job)
        if place is not None:
            index, rung, cid = place
            self._bracket(index).record(rung, cid, FAILED_LOSS)
            self._refresh()

    def _refresh(self) -> None:
        while self._open < len(self.brackets) and self.brackets[self._open].done:
            self._open += 1
        no_more = self._dry or len(self.brackets) >= self._max_brackets
        self.exhausted = no_more and self._open >= len(self.brackets)

    @property
    def _max_brackets(self) -> float:
        """Brackets the run may open: ``iterations`` passes, or no limit."""
        return math.inf if self.iterations is None else self.iterations * len(self._templates)

    # -- proposing -------------------------------------------------------------------
    def _draw(self, count: int, running: Sequence[JobView]) -> list[Config]:
        """``count`` new configs (fewer when the source has run dry)."""
        raise NotImplementedError

    def propose(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        out: list[Proposal] = []
        index = self._open
        while len(out) < n:
            if index == len(self.brackets) and (self._dry or index >= self._max_brackets):
                break
            out += self._work(self._bracket(index), n - len(out), running)
            index += 1
        self._refresh()
        return out

    def _work(self, bracket: Bracket, n: int, running: Sequence[JobView]) -> list[Proposal]:
        """Up to ``n`` proposals from ``bracket``, reserved in it at once."""
        out: list[Proposal] = []
        for rung, cid in bracket.runnable()[:n]:
            if cid is None:
                drawn = self._draw(1, running)
                if not drawn:
                    self._dry = True
                    break
                cid = f"{bracket.index}-{len(bracket.rungs[0])}"
                self._configs[cid] = drawn[0]
                self._n_new += 1
            bracket.add(rung, cid)
            info: dict[str, Any] = {"bracket": bracket.index, "rung": rung, "config_id": cid}
            if rung > 0:
                info["resume_from"] = bracket.budgets[rung - 1]
            out.append(Proposal(dict(self._configs[cid]), budget=bracket.budgets[rung], info=info))
        return out

    def debug_string(self) -> str:
        """Every bracket's rungs, for logs and tests."""
        return "\n".join(repr(b) for b in self.brackets)


def _pick_max(max_iter: float | None, R: float | None) -> float:  # noqa: N803 (NNI's name)
    if max_iter is not None and R is not None and max_iter != R:
        raise ValueError(f"give `max_iter` or its NNI alias `R`, not both (got {max_iter} and {R})")
    return 81 if max_iter is None and R is None else (max_iter if max_iter is not None else R)  # type: ignore[return-value]


@register
class HyperbandProposer(HalvingBrackets):
    """Hyperband with budgets ``max_iter * eta**-s`` down to 1, new configs from ``engine``.

    Auptimizer's keys (``max_iter``, ``eta``, ``skip_last``, ``engine``) and NNI's
    (``R``, ``eta``) are accepted. A promotion reuses its config id, so the engine can
    continue training from that config's checkpoint (``info["resume_from"]``).

    Args:
        max_iter: the largest budget (one full training); NNI calls it ``R``.
        R: alias of ``max_iter``.
        eta: the downsampling rate.
        skip_last: 1 drops the last rung of every bracket.
        engine: name of the proposer drawing new configs (``random``, ``tpe``, ...).
        engine_options: that proposer's options.
        iterations: passes over all brackets; None (default) repeats until the run's
            budget ends. Auptimizer ran exactly one pass: ``iterations=1``.

    Example:
        >>> from tunelab.space import Float
        >>> hb = HyperbandProposer(Space([Float("x", 0, 1)]), seed=0, max_iter=9)
        >>> [(p.budget, p.info["config_id"]) for p in hb.propose(2, running=[])]
        [(1, '0-0'), (1, '0-1')]
    """

    name = "hyperband"

    def __init__(self, space: Space, *, seed: int = 0, max_iter: float | None = None, R: float | None = None,  # noqa: N803
                 eta: float = 3, skip_last: int = 0, engine: str = "random",
                 engine_options: dict[str, Any] | None = None, iterations: int | None = None) -> None:
        eta = check_eta(eta)
        low, high = check_budgets(1, _pick_max(max_iter, R))
        super().__init__(space, seed=seed, budgets=rung_budgets(low, high, eta), eta=eta, skip_last=skip_last,
                         iterations=iterations)
        self.source = ConfigSource(engine, space, seed, engine_options)

    def _draw(self, count: int, running: Sequence[JobView]) -> list[Config]:
        return self.source.draw(count, self._n_new, self._results, running)
