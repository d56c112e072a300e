"""Population-based training (Jaderberg et al., 2017), in synchronous generations.

A population of members trains side by side. Every ``perturbation_interval`` budget
units a generation ends; the members are ranked, and each one in the bottom quantile
(and every member whose job failed) is replaced: it *exploits* a member of the top
quantile (continues from that member's checkpoint with its config) and *explores*
(perturbs that config). The others continue from their own checkpoints.

Generations are synchronous, as in NNI's PBT tuner: a generation starts once every
member of the previous one ended, so the decisions depend on the results only, never
on timing, and replaying the stored history rebuilds them exactly. The pure cores are
:func:`exploit_plan` and :func:`explore`; :class:`PBTProposer` is the adapter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tunelab.proposers._base import JobView, Proposal, Proposer
from tunelab.proposers._registry import register
from tunelab.space import Choice, Config, Int, Param, Space, _Numeric

RESTART = -1
"""In an exploit plan: the member starts afresh (no member of the generation has a result)."""


def quantile_size(population: int, fraction: float) -> int:
    """Members in the top (and in the bottom) quantile: ``ceil(population * fraction)``,
    at least 1 and at most half the population, so the two never overlap.

    Example:
        >>> quantile_size(4, 0.25), quantile_size(10, 0.2), quantile_size(3, 0.5)
        (1, 2, 1)
    """
    return max(1, min(math.ceil(population * fraction - 1e-9), population // 2))


def exploit_plan(losses: Sequence[float | None], fraction: float, rng: np.random.Generator) -> list[int]:
    """For each member, the member it continues from in the next generation.

    A member continues from itself unless it ranks in the bottom quantile or has no
    result (``None``: its job failed); then it takes a member of the top quantile,
    drawn uniformly. Ties rank by member index. When no member has a result, every
    member restarts (:data:`RESTART`).

    Args:
        losses: each member's loss at the end of the generation (lower is better).
        fraction: the quantile fraction (see :func:`quantile_size`).
        rng: the randomness of the draws.

    Example:
        >>> exploit_plan([0.5, 0.1, None, 0.9], 0.25, np.random.default_rng(0))
        [0, 1, 1, 1]
    """
    scored = sorted((loss, m) for m, loss in enumerate(losses) if loss is not None)
    if not scored:
        return [RESTART] * len(losses)
    size = quantile_size(len(losses), fraction)
    top = [m for _, m in scored[:size]]
    bottom = {m for _, m in scored[len(scored) - size:]} if len(scored) > size else set()
    plan = []
    for m, loss in enumerate(losses):
        replaced = loss is None or m in bottom
        plan.append(top[int(rng.integers(len(top)))] if replaced else m)
    return plan


def _perturb(param: Param, value: Any, factor: float, rng: np.random.Generator) -> Any:
    """``value`` moved by ``factor``: numbers are multiplied (clipped into their bounds;
    an integer moves by at least one step); a choice or an ordinal steps to its neighbour
    in the list (the next one when ``factor > 1``), as Ray Tune and NNI do; constants stay."""
    if isinstance(param, Choice):
        index = param.index(value) + (1 if factor > 1 else -1)
        return param.choices[min(max(index, 0), len(param.choices) - 1)]
    if not isinstance(param, _Numeric):
        return value
    number = float(value) * factor
    if param.low is not None:
        number = min(max(number, param.low), param.high)
    if isinstance(param, Int):
        moved = param.validate(round(number))
        if moved == value and factor != 1:
            moved = param.validate(min(max(value + (1 if factor > 1 else -1) * (param.step or 1), param.low),
                                       param.high))
        return moved
    return param.validate(number)


def explore(config: Config, space: Space, rng: np.random.Generator, factors: Sequence[float],
            resample_probability: float, mutate: Sequence[str] | None = None) -> Config:
    """A perturbed copy of ``config``: each parameter named in ``mutate`` (all when None)
    is resampled from its prior with ``resample_probability``, else perturbed by a factor
    drawn from ``factors`` (as Ray Tune's PBT does); the others keep their values. A
    conditional parameter that becomes active is sampled.

    Example:
        >>> from tunelab.space import Float
        >>> space = Space([Float("lr", 1e-4, 1.0, log=True)])
        >>> explore({"lr": 0.01}, space, np.random.default_rng(1), [2.0], 0.0)
        {'lr': 0.02}
    """
    out: Config = {}
    for param in space.params:
        if not space.is_active(param, out):
            continue
        if param.name not in config:
            out[param.name] = param.sample(rng)
        elif mutate is not None and param.name not in mutate:
            out[param.name] = config[param.name]
        elif rng.random() < resample_probability:
            out[param.name] = param.sample(rng)
        else:
            factor = float(factors[int(rng.integers(len(factors)))])
            out[param.name] = _perturb(param, config[param.name], factor, rng)
    return out


def _check_fraction(name: str, value: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= high:
        raise ValueError(f"`{name}` must be a number in [0, {high}], but got {value!r}")
    return float(value)


@register
class PBTProposer(Proposer):
    """Population-based training over the budget: members train in parallel, in generations.

    Generation ``g`` runs every member with budget ``(g + 1) * perturbation_interval``
    (capped at ``max_budget``). Each proposal carries ``info = {"generation", "member",
    "parent", "resume_from"}``: ``parent`` is the number of the job whose checkpoint the
    new job starts from (the member's own previous job, or the better member's it
    exploits; None in generation 0), and the engine copies that job's checkpoint folder
    into the new job's before it starts. The script trains from the budget its checkpoint
    reached (``resume_from``) up to its budget, exactly as for a Hyperband promotion.

    Args:
        population_size: members trained side by side (NNI's default 10; Ray Tune's
            examples use 4 to 8).
        perturbation_interval: budget units between two generations (Ray Tune's name).
        max_budget: the budget of a full training; the run ends after the generation that
            reaches it. None: generations go on until ``n_samples`` or ``max_duration``.
        quantile_fraction: share of the population in the top and in the bottom quantile
            (NNI's ``fraction``).
        resample_probability: chance that exploring resamples a parameter from its prior
            instead of perturbing it.
        perturbation_factors: the factors a perturbed number is multiplied by (one drawn
            per parameter); choices and ordinals step to the next value in their list for
            a factor above 1, to the previous one otherwise.
        mutate: the parameters exploring may change (Ray Tune's ``hyperparam_mutations``);
            None: all. The others keep the exploited member's values, as layer sizes
            must for its checkpoint to load.

    Example:
        >>> from tunelab.space import Float
        >>> pbt = PBTProposer(Space([Float("lr", 1e-4, 1, log=True)]), seed=0, population_size=2)
        >>> [(p.budget, p.info["member"], p.info["parent"]) for p in pbt.propose(4, running=[])]
        [(1.0, 0, None), (1.0, 1, None)]
    """

    name = "pbt"
    multi_fidelity = True

    def __init__(self, space: Space, *, seed: int = 0, population_size: int = 8, perturbation_interval: float = 1,
                 max_budget: float | None = None, quantile_fraction: float = 0.25,
                 resample_probability: float = 0.25, perturbation_factors: Sequence[float] = (1.2, 0.8),
                 mutate: Sequence[str] | None = None) -> None:
        super().__init__(space, seed=seed)
        if isinstance(population_size, bool) or not isinstance(population_size, int) or population_size < 2:
            raise ValueError(f"`population_size` must be an integer >= 2, but got {population_size!r}")
        if isinstance(perturbation_interval, bool) or not isinstance(perturbation_interval, (int, float)) \
                or not 0 < perturbation_interval < math.inf:
            raise ValueError(f"`perturbation_interval` must be a positive number, but got {perturbation_interval!r}")
        if max_budget is not None and (isinstance(max_budget, bool) or not isinstance(max_budget, (int, float))
                                       or not perturbation_interval <= max_budget < math.inf):
            raise ValueError(f"`max_budget` must be a number >= perturbation_interval "
                             f"({perturbation_interval}) or null, but got {max_budget!r}")
        factors = list(perturbation_factors) if isinstance(perturbation_factors, (list, tuple)) else []
        if not factors or any(isinstance(f, bool) or not isinstance(f, (int, float)) or not f > 0 for f in factors):
            raise ValueError(f"`perturbation_factors` must be a non-empty list of positive numbers, "
                             f"but got {perturbation_factors!r}")
        if mutate is not None:
            unknown = [m for m in mutate if m not in space.names] if isinstance(mutate, (list, tuple)) else [mutate]
            if unknown:
                raise ValueError(f"`mutate` must list parameters of the space {space.names}, but got {unknown[0]!r}")
            mutate = list(mutate)
        self.mutate = mutate
        self.population = population_size
        self.interval = float(perturbation_interval)
        self.max_budget = None if max_budget is None else float(max_budget)
        self.fraction = _check_fraction("quantile_fraction", quantile_fraction, 0.5)
        self.resample_probability = _check_fraction("resample_probability", resample_probability, 1.0)
        self.factors = [float(f) for f in factors]
        self.generations = math.inf if max_budget is None else math.ceil(max_budget / self.interval - 1e-9)
        self.members: dict[tuple[int, int], JobView] = {}
        self.losses: dict[tuple[int, int], float | None] = {}
        self._plans: dict[int, list[int]] = {}

    @property
    def finite(self) -> bool:
        return self.max_budget is not None

    # -- history -------------------------------------------------------------------
    @staticmethod
    def _place(job: JobView) -> tuple[int, int] | None:
        info = job.info or {}
        if "generation" not in info:
            return None
        return int(info["generation"]), int(info["member"])

    def on_job_started(self, job: JobView) -> None:
        place = self._place(job)
        if place is not None:
            self.members[place] = job

    def observe(self, job: JobView) -> None:
        place = self._place(job)
        if place is not None:
            self.losses[place] = float(job.loss) if job.loss is not None and math.isfinite(job.loss) else None

    def on_job_failed(self, job: JobView) -> None:
        place = self._place(job)
        if place is not None:
            self.losses[place] = None

    # -- proposing -------------------------------------------------------------------
    def _budget(self, generation: int) -> float:
        budget = (generation + 1) * self.interval
        return budget if self.max_budget is None else min(budget, self.max_budget)

    def _current(self) -> int:
        """The first generation with a member still to propose or to end."""
        generation = 0
        while all((generation, m) in self.losses for m in range(self.population)):
            generation += 1
        return generation

    def _plan(self, generation: int) -> list[int]:
        if generation not in self._plans:
            losses = [self.losses[(generation - 1, m)] for m in range(self.population)]
            rng = np.random.default_rng([self.seed, generation, 0x9B7])
            self._plans[generation] = exploit_plan(losses, self.fraction, rng)
        return self._plans[generation]

    def propose(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        generation = self._current()
        if generation >= self.generations:
            self.exhausted = True
            return []
        todo = [m for m in range(self.population) if (generation, m) not in self.members]
        out = [self._proposal(generation, m) for m in todo[:n]]
        for proposal in out:
            self.members[(generation, proposal.info["member"])] = JobView(-1, proposal.config, info=proposal.info)
        return out

    def _proposal(self, generation: int, member: int) -> Proposal:
        rng = np.random.default_rng([self.seed, generation, member, 0x9B7])
        source = self._plan(generation)[member] if generation else RESTART
        info: dict[str, Any] = {"generation": generation, "member": member, "parent": None}
        if source == RESTART:
            return Proposal(self.space.sample(rng), self._budget(generation), info)
        parent = self.members[(generation - 1, source)]
        config = dict(parent.config)
        if source != member:
            config = explore(config, self.space, rng, self.factors, self.resample_probability, self.mutate)
            info["exploited"] = source
        info.update(parent=parent.number, resume_from=self._budget(generation - 1))
        return Proposal(config, self._budget(generation), info)

    def debug_string(self) -> str:
        """Each generation's members: loss (or … while running, ✗ when failed) and parent."""
        lines = []
        for generation in range(self._current() + 1):
            cells = []
            for m in range(self.population):
                job = self.members.get((generation, m))
                if job is None:
                    continue
                loss = self.losses.get((generation, m), "…")
                shown = "…" if loss == "…" else "✗" if loss is None else f"{loss:.4g}"
                cells.append(f"m{m}={shown}<-{job.info.get('parent')}")
            if cells:
                lines.append(f"generation {generation}: " + ", ".join(cells))
        return "\n".join(lines)
