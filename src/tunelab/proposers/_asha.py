"""ASHA (Li et al., 2020): asynchronous successive halving.

A free slot never waits: it promotes the best config of the highest rung that has one
in its top ``1/eta`` not yet promoted, and otherwise starts a new config at the bottom
rung. The pure core is :class:`AshaRungs`; :class:`ASHAProposer` is the adapter that
names configs, draws new ones from a sampler and rebuilds the rungs from the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tunelab.proposers._base import JobView, Proposal, Proposer
from tunelab.proposers._halving import FAILED_LOSS, ConfigSource, check_budgets, check_eta, rung_budgets
from tunelab.proposers._registry import register
from tunelab.space import Config, Space

AGREEMENT = 0.3
"""Rank correlation with the top budget from which a budget's ranking is trusted."""

MIN_PAIRS = 6
"""Configs seen at both budgets before their agreement is judged (until then it is trusted)."""

MATERIAL = 0.05
"""Share of a budget's own spread of losses that its misranking must cost at the top budget to count."""


def rank_agreement(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation of two equally long sequences (1.0 when one is constant).

    Example:
        >>> rank_agreement([1, 2, 3, 4], [10, 30, 20, 40])
        0.8
    """
    ranks_a, ranks_b = (np.argsort(np.argsort(np.asarray(v, dtype=float), kind="stable")) for v in (a, b))
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 1.0
    return round(float(np.corrcoef(ranks_a, ranks_b)[0, 1]), 12)


def _misleads(pairs: Sequence[tuple[float, float]], low_losses: Sequence[float]) -> bool:
    """Whether a low budget misranks the configs that reached the top, and it matters.

    ``pairs`` are ``(loss at the low budget, loss at the top)`` of those configs;
    ``low_losses`` are every config's loss at the low budget. The ranking must disagree
    (rank correlation below ``AGREEMENT``), and following it must cost something: the top
    loss of the config the low budget ranks first exceeds the best top loss by at least
    ``MATERIAL`` times the low budget's own interquartile range. Near an optimum, a small
    bias of the low budget reorders configs that differ by a hair; it still tells them
    well apart from the rest, which is all a promotion asks of it.
    """
    if rank_agreement(*zip(*pairs)) >= AGREEMENT:
        return False
    cost = min(pairs)[1] - min(top for _, top in pairs)
    spread = float(np.subtract(*np.percentile(low_losses, [75, 25])))
    return cost >= MATERIAL * spread


class AshaRungs:
    """The rungs of ASHA's brackets; bracket ``b`` starts at ``budgets[b]``.

    Args:
        budgets: the rung budgets, ascending.
        eta: a rung promotes its best ``floor(n / eta)`` of ``n`` results.
        brackets: the number of brackets (1 is plain ASHA; more hedge like Hyperband).

    Example:
        >>> rungs = AshaRungs([1, 3, 9], eta=3, brackets=1)
        >>> for cid, loss in (("a", 0.5), ("b", 0.2), ("c", 0.9)):
        ...     rungs.add(0, 0, cid); rungs.record(0, 0, cid, loss)
        >>> rungs.promotion()
        (0, 1, 'b')
    """

    def __init__(self, budgets: Sequence[float], eta: float, brackets: int = 1) -> None:
        self.eta = eta
        self.budgets = [list(budgets[b:]) for b in range(brackets)]
        self.rungs: list[list[dict[str, float | None]]] = [[{} for _ in bs] for bs in self.budgets]

    def add(self, bracket: int, rung: int, cid: str) -> None:
        """A job of ``cid`` started (or was proposed) at ``rung`` of ``bracket``."""
        self.rungs[bracket][rung].setdefault(cid, None)

    def record(self, bracket: int, rung: int, cid: str, loss: float) -> None:
        """The job of ``cid`` ended with ``loss`` (``inf`` when it failed: a loser)."""
        self.rungs[bracket][rung][cid] = loss

    def promotion(self) -> tuple[int, int, str] | None:
        """``(bracket, rung, cid)``: the next promotion, from the highest rung first."""
        for bracket, rungs in enumerate(self.rungs):
            for rung in range(len(rungs) - 2, -1, -1):
                done = sorted((v, cid) for cid, v in rungs[rung].items() if v is not None)
                top = [cid for v, cid in done[:int(len(done) // self.eta)] if v < FAILED_LOSS]
                for cid in top:
                    if cid not in rungs[rung + 1]:
                        return bracket, rung + 1, cid
        return None

    def trusted_bracket(self) -> int:
        """The first bracket whose bottom budget ranks configs as the top budget does.

        For each bottom budget, the configs seen there and at the top budget are compared
        by rank correlation; a budget with fewer than ``MIN_PAIRS`` such configs is
        trusted until shown otherwise. Where low budgets mislead (learning curves that
        cross), new configs start higher, as Hyperband's safer brackets do, but only once
        the data says so. A config always meets at least one halving (the bracket that
        starts at the top budget, plain full-budget search, is never chosen): among the
        few configs that reach the top, near-equal losses make the correlation noisy.
        """
        seen: dict[str, dict[float, float]] = {}
        for b, rungs in enumerate(self.rungs):
            for k, members in enumerate(rungs):
                for cid, loss in members.items():
                    if loss is not None and loss < FAILED_LOSS:
                        seen.setdefault(cid, {})[self.budgets[b][k]] = loss
        top = self.budgets[0][-1]
        last = max(len(self.budgets) - 2, 0)
        for bracket in range(last):
            low = self.budgets[bracket][0]
            pairs = [(losses[low], losses[top]) for losses in seen.values() if low in losses and top in losses]
            if len(pairs) < MIN_PAIRS or not _misleads(pairs, [losses[low] for losses in seen.values() if low in losses]):
                return bracket
        return last

    def __repr__(self) -> str:
        lines = []
        for b, rungs in enumerate(self.rungs):
            for k, members in enumerate(rungs):
                shown = ", ".join(f"{cid}={'…' if v is None else f'{v:.4g}'}" for cid, v in members.items())
                lines.append(f"bracket {b} rung {k} budget={self.budgets[b][k]}: {shown}")
        return f"AshaRungs(eta={self.eta})\n" + "\n".join(lines)


def _one_of(label: str, values: dict[str, Any], default: Any) -> Any:
    """The single value given among an option and its aliases (``default`` if none)."""
    given = {k: v for k, v in values.items() if v is not None}
    if len(given) > 1:
        raise ValueError(f"give only one of {', '.join(f'`{k}`' for k in given)} (they all set {label})")
    return next(iter(given.values()), default)


@register
class ASHAProposer(Proposer):
    """Asynchronous successive halving between ``min_budget`` and ``max_budget``.

    Proposals carry ``budget`` and ``info = {"bracket", "rung", "config_id"}`` (plus
    ``"resume_from"`` for a promotion, so training continues from the config's
    checkpoint); replaying the history rebuilds the rungs. The search never runs out.

    Args:
        min_budget: the bottom rung's budget; ``min_resource`` and ``grace_period`` are aliases.
        max_budget: the top rung's budget (a full training); ``max_resource`` is an alias.
        eta: the reduction factor; ``reduction_factor`` is an alias.
        brackets: ``"auto"`` (default): every new config starts in the first bracket whose
            bottom budget has ranked configs as the top budget did (see
            :meth:`AshaRungs.trusted_bracket`), which is plain ASHA until low budgets are
            shown to mislead; or a number of brackets with successively higher bottom
            rungs, filled in turn.
        sampler: name of the proposer drawing new configs (``random``; ``tpe`` or another
            model learns from every config, ranked by the budget it reached and its loss).
        sampler_options: that proposer's options.

    Example:
        >>> from tunelab.space import Float
        >>> asha = ASHAProposer(Space([Float("x", 0, 1)]), seed=0, max_budget=9)
        >>> [(p.budget, p.info["config_id"]) for p in asha.propose(2, running=[])]
        [(1, 'c0'), (1, 'c1')]
    """

    name = "asha"
    multi_fidelity = True

    def __init__(self, space: Space, *, seed: int = 0, min_budget: float | None = None,
                 min_resource: float | None = None, grace_period: float | None = None,
                 max_budget: float | None = None, max_resource: float | None = None, eta: float | None = None,
                 reduction_factor: float | None = None, brackets: int | str = "auto", sampler: str = "random",
                 sampler_options: dict[str, Any] | None = None) -> None:
        super().__init__(space, seed=seed)
        low = _one_of("min_budget", {"min_budget": min_budget, "min_resource": min_resource,
                                     "grace_period": grace_period}, 1)
        high = _one_of("max_budget", {"max_budget": max_budget, "max_resource": max_resource}, 81)
        eta = check_eta(_one_of("eta", {"eta": eta, "reduction_factor": reduction_factor}, 3))
        budgets = rung_budgets(*check_budgets(low, high), eta)
        adaptive = brackets == "auto"
        if not adaptive and (isinstance(brackets, bool) or not isinstance(brackets, int)
                             or not 1 <= brackets <= len(budgets)):
            raise ValueError(f"`brackets` must be \"auto\" or an integer in [1, {len(budgets)}], but got {brackets!r}")
        self.adaptive = adaptive
        self.core = AshaRungs(budgets, eta, len(budgets) if adaptive else int(brackets))
        self.source = ConfigSource(sampler, space, seed, sampler_options)
        self._configs: dict[str, Config] = {}
        self._results: dict[float, list[JobView]] = {}

    @staticmethod
    def _place(job: JobView) -> tuple[int, int, str] | None:
        info = job.info or {}
        if "rung" not in info:
            return None
        return int(info["bracket"]), int(info["rung"]), str(info["config_id"])

    def on_job_started(self, job: JobView) -> None:
        place = self._place(job)
        if place is not None:
            self.core.add(*place)
            self._configs.setdefault(place[2], dict(job.config))

    def observe(self, job: JobView) -> None:
        place = self._place(job)
        if place is not None and job.loss is not None:
            self.core.record(*place, float(job.loss))
            self._results.setdefault(self.core.budgets[place[0]][place[1]], []).append(job)

    def on_job_failed(self, job: JobView) -> None:
        place = self._place(job)
        if place is not None:
            self.core.record(*place, FAILED_LOSS)

    def propose(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        out: list[Proposal] = []
        while len(out) < n:
            move = self.core.promotion()
            if move is None:
                move = self._new_config(running)
                if move is None:
                    break
            bracket, rung, cid = move
            self.core.add(bracket, rung, cid)
            budgets = self.core.budgets[bracket]
            info: dict[str, Any] = {"bracket": bracket, "rung": rung, "config_id": cid}
            if rung > 0:
                info["resume_from"] = budgets[rung - 1]
            out.append(Proposal(dict(self._configs[cid]), budget=budgets[rung], info=info))
        return out

    def _new_config(self, running: Sequence[JobView]) -> tuple[int, int, str] | None:
        """Draw a new config for the bottom rung of its bracket (None if dry).

        With adaptive brackets the sampler, too, learns only from the budgets found to
        rank configs as the top budget does: on crossing learning curves the lower
        rungs favour fast starters, and a model taught by them proposes more of those.
        """
        n_new = len(self._configs)
        bracket = self.core.trusted_bracket() if self.adaptive else n_new % len(self.core.budgets)
        trusted = self.core.budgets[bracket][0] if self.adaptive else 0.0
        drawn = self.source.draw(1, n_new, self._results, running, trusted)
        if not drawn:
            self.exhausted = True
            return None
        cid = f"c{n_new}"
        self._configs[cid] = drawn[0]
        return bracket, 0, cid

    def debug_string(self) -> str:
        """The rungs and their members, for logs and tests."""
        return repr(self.core)
