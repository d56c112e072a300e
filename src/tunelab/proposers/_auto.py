"""The ``auto`` proposer: picks the algorithm from the space, the budget and the parallelism.

The choice is a :class:`Plan`, a list of stages ``(first job number, proposer name)``
computed once from the space and the options, so the proposer that makes job ``k`` is a
pure function of the space, the options and ``k``: a resumed search chooses exactly as
the serial one did. Every stage's proposer is built up front and told every job (started,
finished, failed), so a later stage starts from the whole history, not from scratch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tunelab.proposers._base import JobView, Proposal, Proposer
from tunelab.proposers._registry import get, register
from tunelab.space import Space

GP_MAX_JOBS = 200
"""Jobs after which a GP stops being worth its cost (cubic in the history) on numeric spaces."""

GP_MAX_DIM = 40
"""Most parameters given to a GP on a space of mostly ordered parameters. With its trust
region and moderate length-scale prior the GP has a better mean rank than CMA-ES
(tunelab's and Optuna's) and Optuna's GP at 50 and 100 jobs from 8 to 40 dimensions
(ackley10, levy8 and styblinski_tang8 of the shared set; ackley, rosenbrock and
styblinski_tang in 20 dimensions and styblinski_tang in 40 in
``benchmarks/extra_problems.py``; Optuna's CMA-ES is ahead on levy8 and ackley20), at
under a second per proposal with 200 jobs in 40 dimensions. Beyond 40 it is untested, and
an evolution strategy's cost does not grow with the history."""

GP_MAX_DIM_CATEGORICAL = 10
"""Most parameters given to a GP on a space where choices are more than ``CATEGORICAL_SHARE``
of the parameters: the mixed problems it was checked on have at most 6 to 10."""

MAX_PARALLEL_GP = 16
"""Above this many parallel slots, batches of GP fantasies cost too much per proposal."""

CATEGORICAL_SHARE = 0.25
"""Share of unordered choices (among the searched parameters) above which the space counts as
categorical. Such a space goes to ``gp`` when a GP suits it, some parameters are ordered
and the budget is known: on four mixed problems (mixed6 and ``benchmarks/extra_problems.py``)
the GP alone, with its choices one-hot, does as well as TPE followed by the GP and better
than TPE alone, which can keep to a choice that is easy to get fairly good. Otherwise it
goes to ``tpe``, which models choices natively and at any history length; CMA-ES has no
notion of a choice."""

STAGE_OPTIONS: dict[str, dict[str, float]] = {"cmaes": {"sigma0": 1 / 6}}
"""Options of the stages' proposers. CMA-ES starts at the centre of the unit cube with a
step of 1/6, so that three steps reach the bounds (the usual advice for a box)."""


@dataclass(frozen=True)
class SpaceKind:
    """What ``auto`` looks at in a space.

    Attributes:
        numeric: searched parameters with an order (float, int, ordinal).
        categorical: searched unordered choices.
        conditional: some parameter exists only under a parent's value.
        cardinality: number of distinct configs (``inf`` when continuous).
    """

    numeric: int
    categorical: int
    conditional: bool
    cardinality: float

    @classmethod
    def of(cls, space: Space) -> SpaceKind:
        """Describe ``space`` (constants and one-value parameters are not searched)."""
        searched = [p for p in space if p.cardinality > 1]
        categorical = sum(p.is_categorical for p in searched)
        return cls(len(searched) - categorical, categorical, space.is_conditional, space.cardinality)

    @property
    def dim(self) -> int:
        """Searched parameters."""
        return self.numeric + self.categorical


@dataclass(frozen=True)
class Plan:
    """Stages of a search: ``(first job number, proposer name)``, first stage at job 0.

    Example:
        >>> plan = Plan(((0, "gp"), (200, "tpe")))
        >>> plan.at(199), plan.at(200)
        ('gp', 'tpe')
    """

    stages: tuple[tuple[int, str], ...]

    def at(self, number: int) -> str:
        """The proposer of job ``number``."""
        return [name for start, name in self.stages if start <= number][-1]

    @property
    def names(self) -> list[str]:
        """Every proposer of the plan, in stage order, once each."""
        return list(dict.fromkeys(name for _, name in self.stages))


def choose(kind: SpaceKind, n_samples: int | None, n_parallel: int) -> Plan:
    """The plan for a space of ``kind``, a budget of ``n_samples`` jobs (None: unknown) and
    ``n_parallel`` slots.

    * Nothing to search (constants only): ``random``.
    * Conditional spaces: ``tpe``, which models each branch exactly and costs little.
    * Spaces where more than ``CATEGORICAL_SHARE`` of the parameters are unordered choices,
      when nothing is ordered, a GP does not suit the space (below) or the budget is
      unknown: ``tpe``. An unknown budget is an open-ended search or the sampler of
      ``asha``, ranking configs across budgets; there, on ``lc_crossing``, ``tpe`` did
      better than ``gp``, about half of whose runs settled on configs that start fast.
    * Other spaces of at most ``GP_MAX_DIM`` parameters (``GP_MAX_DIM_CATEGORICAL`` when
      choices are many), with at most ``MAX_PARALLEL_GP`` slots: ``gp`` (its Sobol start
      included; choices are one-hot) for the first ``GP_MAX_JOBS`` jobs. A longer budget
      continues with ``cmaes`` when the space is numeric enough and the budget leaves
      CMA-ES some 30 generations, else (and when the budget is unknown) with ``tpe``, which
      starts from the whole history at a bounded cost.
    * Larger numeric spaces, or many parallel slots: ``cmaes``.
    """
    if kind.dim == 0:
        return Plan(((0, "random"),))
    categorical = kind.categorical > CATEGORICAL_SHARE * kind.dim
    gp_fits = kind.dim <= (GP_MAX_DIM_CATEGORICAL if categorical else GP_MAX_DIM) and n_parallel <= MAX_PARALLEL_GP
    if kind.conditional or (categorical and not (gp_fits and kind.numeric and n_samples is not None)):
        return Plan(((0, "tpe"),))
    if not gp_fits:
        return Plan(((0, "cmaes"),))
    if n_samples is not None and n_samples <= GP_MAX_JOBS:
        return Plan(((0, "gp"),))
    popsize = 4 + math.floor(3 * math.log(max(2, kind.dim)))
    long = not categorical and n_samples is not None and n_samples - GP_MAX_JOBS >= 30 * popsize
    return Plan(((0, "gp"), (GP_MAX_JOBS, "cmaes" if long else "tpe")))


def choose_multiobjective(kind: SpaceKind, n_objectives: int) -> Plan:
    """The plan when the experiment has several objectives.

    * Nothing to search: ``random``.
    * Three objectives or more: ``nsga2``. On DTLZ2 (three objectives) it had the best
      mean rank at 100 and 200 trials (2.0 and 1.7 of 7 over 10 seeds), where ``motpe``
      and Optuna's TPE did worse than random search; this is the one problem with three
      objectives measured (``benchmarks/multiobjective.py``).
    * Two objectives: ``motpe``, which models any space (choices, conditions) at a
      bounded cost per proposal and had the best mean rank on ZDT1-3 and two of the
      three tabular problems (``nsga2`` is a little ahead on the third).
    """
    if kind.dim == 0:
        return Plan(((0, "random"),))
    return Plan(((0, "nsga2" if n_objectives >= 3 else "motpe"),))


@register
class AutoProposer(Proposer):
    """The default proposer: chooses and switches algorithms by the kind of problem.

    See :func:`choose` for the rules. Each proposal's ``info`` names the proposer that
    made it (``"via"``), next to that proposer's own bookkeeping.

    Args:
        n_samples: the experiment's budget in jobs, when known (the engine fills it in).
        n_parallel: jobs run at once (the engine fills it in).
        n_objectives: objectives of the experiment (the engine fills it in); with
            several, :func:`choose_multiobjective` decides.

    Example:
        >>> from tunelab.space import Space, Float
        >>> p = AutoProposer(Space([Float("x", 0, 1), Float("y", 0, 1)]), seed=0, n_samples=50)
        >>> p.plan
        Plan(stages=((0, 'gp'),))
        >>> p.propose(1, running=[])[0].info["via"]
        'gp'
    """

    name = "auto"
    multi_objective = True

    def __init__(self, space: Space, *, seed: int = 0, n_samples: int | None = None, n_parallel: int = 1,
                 n_objectives: int = 1) -> None:
        super().__init__(space, seed=seed)
        if n_samples is not None and (isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1):
            raise ValueError(f"`n_samples` must be an integer >= 1 or None, but got {n_samples!r}")
        if isinstance(n_parallel, bool) or not isinstance(n_parallel, int) or n_parallel < 1:
            raise ValueError(f"`n_parallel` must be an integer >= 1, but got {n_parallel!r}")
        if isinstance(n_objectives, bool) or not isinstance(n_objectives, int) or n_objectives < 1:
            raise ValueError(f"`n_objectives` must be an integer >= 1, but got {n_objectives!r}")
        self.kind = SpaceKind.of(space)
        if n_objectives > 1:
            self.plan = choose_multiobjective(self.kind, n_objectives)
        else:
            self.plan = choose(self.kind, n_samples, n_parallel)
        self.stages: dict[str, Proposer] = {name: get(name)(space, seed=self.seed, **STAGE_OPTIONS.get(name, {}))
                                            for name in self.plan.names}

    @property
    def active(self) -> Proposer:
        """The proposer of the next job."""
        return self.stages[self.plan.at(self.n_proposed)]

    def _sync(self) -> None:
        for proposer in self.stages.values():
            proposer.n_proposed = self.n_proposed
        self.exhausted = self.active.exhausted

    def propose(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        """Up to ``n`` proposals of the active stage (a batch never spans two stages)."""
        self._sync()
        name = self.plan.at(self.n_proposed)
        boundary = [start for start, _ in self.plan.stages if start > self.n_proposed]
        if boundary:
            n = min(n, boundary[0] - self.n_proposed)
        out = self.stages[name].propose(n, running)
        for proposal in out:
            proposal.info["via"] = name
        return out

    def on_job_started(self, job: JobView) -> None:
        self._sync()
        for proposer in self.stages.values():
            proposer.on_job_started(job)

    def observe(self, job: JobView) -> None:
        for proposer in self.stages.values():
            proposer.observe(job)
        self._sync()

    def on_job_failed(self, job: JobView) -> None:
        for proposer in self.stages.values():
            proposer.on_job_failed(job)
        self._sync()

    def __repr__(self) -> str:
        return f"AutoProposer(plan={self.plan}, kind={self.kind}, n_proposed={self.n_proposed})"
