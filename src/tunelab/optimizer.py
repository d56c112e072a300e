"""The ask/tell API: tunelab's proposers without storage, processes or an engine.

:class:`Optimizer` drives a proposer through the same :class:`~tunelab.proposers.Search`
the engine uses, so ``target``, ``initial_configs``, finite spaces and failed jobs are
treated exactly as in ``tunelab run``. It is meant for embedding tunelab in a loop you
already have, and for benchmarking.

Example:
    >>> opt = Optimizer([{"name": "x", "type": "float", "range": [-5, 5]}], proposer="random")
    >>> for _ in range(20):
    ...     config = opt.ask()
    ...     opt.tell(config, (config["x"] - 1.0) ** 2)
    >>> opt.best["value"] < 1.0
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tunelab import proposers
from tunelab.exceptions import TunelabError, UserError
from tunelab.pareto import front_mask
from tunelab.proposers import JobView, Proposal, Search, sign_of
from tunelab.space import Config, Space
from tunelab.spec import build_space


class NothingToPropose(TunelabError):
    """``ask()`` found nothing to propose: a finite space is exhausted, or a
    multi-fidelity proposer waits for results of the configs already asked."""


def _number(value: Any) -> float | None:
    """The told value as a float, ``None`` for a failure (``None``, NaN, infinite)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserError(f"tell: value must be a number or None, got {value!r}") from None
    return number if math.isfinite(number) else None


class Optimizer:
    """Ask for configurations, tell their results; the search is tunelab's proposers.

    Args:
        parameter_config: the experiment file's parameter list
            (``[{"name": "lr", "type": "float", "range": [1e-4, 0.1], "log": true}, ...]``)
            or a :class:`~tunelab.space.Space`.
        proposer: a proposer name (``auto``, ``tpe``, ``gp``, ``smac``, ``cmaes``, ...).
        target: ``min`` or ``max``: the direction of the values you tell; with several
            objectives, one direction each (``["max", "min"]``), and :meth:`tell` takes
            a tuple of values in that order.
        random_seed: the seed; the same seed and the same told values give the same
            sequence of configs.
        initial_configs: configs to run before the proposer is asked.
        **proposer_options: options of the proposer (unknown ones are an error).

    Raises:
        UserError: unknown proposer or option, bad ``target``.
        SpecError: a bad ``parameter_config`` entry or initial config (one line each).

    Example:
        >>> opt = Optimizer([{"name": "n", "type": "int", "range": [1, 4]}], proposer="random", target="max")
        >>> configs = opt.ask(4)
        >>> for config in configs:
        ...     opt.tell(config, config["n"])
        >>> opt.best
        {'config': {'n': 4}, 'value': 4.0}
    """

    def __init__(self, parameter_config: Sequence[dict[str, Any]] | Space, proposer: str = "auto",
                 target: str | Sequence[str] = "min", random_seed: int = 0, initial_configs: Sequence[Config] = (),
                 **proposer_options: Any) -> None:
        targets = [target] if isinstance(target, str) else list(target)
        if not targets or any(t not in ("min", "max") for t in targets):
            raise UserError(f"target: expected 'min', 'max' or a list of them (one per objective), got {target!r}")
        self.space = parameter_config if isinstance(parameter_config, Space) else build_space(list(parameter_config))
        self.target = target
        self._signs = [sign_of(t) for t in targets]
        self._sign = self._signs[0]
        if len(targets) > 1 and "n_objectives" in proposers.options(proposer):
            proposer_options.setdefault("n_objectives", len(targets))
        self.proposer = proposers.create(proposer, self.space, seed=int(random_seed), options_=proposer_options)
        if len(targets) > 1 and not self.proposer.multi_objective:
            raise UserError(f"proposer: {proposer!r} optimizes one objective, but `target` names {len(targets)}")
        self._search = Search(self.space, self.proposer, list(initial_configs))
        self._jobs: list[JobView] = []
        self._running: dict[str, list[JobView]] = {}

    # --- asking -----------------------------------------------------------------------

    def ask(self, n: int | None = None) -> Config | list[Config]:
        """The next config, or (with ``n``) a list of up to ``n`` distinct configs to run in parallel.

        Raises:
            NothingToPropose: ``ask()`` without ``n`` and nothing can be proposed now.
        """
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise UserError(f"ask: `n` must be an integer >= 1, got {n!r}")
        proposals = self._search.ask(n or 1, self.running)
        configs = [self._start(proposal) for proposal in proposals]
        if n is not None:
            return configs
        if not configs:
            raise NothingToPropose("ask: nothing to propose (the space is exhausted or results are awaited)")
        return configs[0]

    def ask_budget(self) -> tuple[Config, float | None]:
        """The next config and its budget, for multi-fidelity proposers (``hyperband``, ``asha``, ...)."""
        config = self.ask()
        return config, self._jobs[-1].budget  # type: ignore[return-value]

    def _start(self, proposal: Proposal) -> Config:
        job = JobView(len(self._jobs), dict(proposal.config), "running", None, proposal.budget, [],
                      dict(proposal.info))
        self._search.started(job)
        self._jobs.append(job)
        self._running.setdefault(self._key(job.config, job.budget), []).append(job)
        return dict(proposal.config)

    # --- telling ----------------------------------------------------------------------

    def tell(self, config: Config, value: float | None, *, budget: float | None = None,
             intermediate: Sequence[tuple[int, float]] = ()) -> None:
        """Report the result of an asked config.

        Args:
            config: a config returned by :meth:`ask` (the oldest running one that is
                equal to it takes the result).
            value: the result; ``None``, NaN or an infinity marks a failed job.
            budget: the budget it ran with, when the proposer gave one.
            intermediate: ``(step, value)`` pairs reported along the way (multi-fidelity).

        Raises:
            UserError: the config was never asked or was already told, or the value is
                not a number.
        """
        numbers = self._numbers(value)
        job = self._pop_running(config, budget)
        job.intermediate = [(int(step), self._sign * float(v)) for step, v in intermediate]
        if numbers is None:
            job.status, job.loss = "failed", None
        else:
            job.status, job.loss = "finished", self._sign * numbers[0]
            if len(self._signs) > 1:
                job.losses = tuple(sign * n for sign, n in zip(self._signs, numbers, strict=True))
        self._search.ended(job)

    def _numbers(self, value: Any) -> list[float] | None:
        """The told value(s), one per objective; ``None`` for a failure (any missing or not finite)."""
        if len(self._signs) == 1:
            number = _number(value)
            return None if number is None else [number]
        if value is None:
            return None
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != len(self._signs):
            raise UserError(f"tell: value must be a sequence of {len(self._signs)} numbers (one per objective) "
                            f"or None, got {value!r}")
        numbers = [_number(v) for v in value]
        return None if any(n is None for n in numbers) else numbers  # type: ignore[return-value]

    def _key(self, config: Config, budget: float | None) -> str:
        return self.space.key(config) + f"@{budget}"

    def _pop_running(self, config: Config, budget: float | None) -> JobView:
        key = self._key(self.space.validate(config, where="tell.config"), budget)
        waiting = self._running.get(key)
        if not waiting:
            raise UserError(f"tell: {config!r} (budget {budget}) is not a running config; "
                            "tell only configs returned by ask(), once each")
        job = waiting.pop(0)
        if not waiting:
            del self._running[key]
        return job

    # --- reading ----------------------------------------------------------------------

    @property
    def running(self) -> list[JobView]:
        """Jobs asked and not told yet."""
        return [job for job in self._jobs if job.status == "running"]

    @property
    def best(self) -> dict[str, Any] | None:
        """``{"config", "value"}`` of the best finished job (``None`` before any, and with
        several objectives: see :attr:`front`)."""
        done = [job for job in self._jobs if job.status == "finished" and job.loss is not None]
        if not done or len(self._signs) > 1:
            return None
        job = min(done, key=lambda j: (j.loss, j.number))
        return {"config": dict(job.config), "value": self._sign * job.loss}  # type: ignore[operator]

    @property
    def front(self) -> list[dict[str, Any]]:
        """``{"config", "values"}`` of each finished job on the Pareto front, in job order
        (several objectives only)."""
        done = [job for job in self._jobs if job.status == "finished" and job.losses is not None]
        if not done:
            return []
        mask = front_mask([job.losses for job in done])
        return [{"config": dict(job.config), "values": self._values(job)}
                for job, keep in zip(done, mask, strict=True) if keep]

    def _values(self, job: JobView) -> float | tuple[float, ...] | None:
        """The job's told value(s), in the user's directions."""
        if job.losses is not None:
            return tuple(sign * loss for sign, loss in zip(self._signs, job.losses, strict=True))
        return None if job.loss is None else self._sign * job.loss

    @property
    def history(self) -> list[dict[str, Any]]:
        """Every asked job in order: ``number``, ``config``, ``status``, ``value`` (a tuple
        with several objectives), ``budget``."""
        return [{"number": job.number, "config": dict(job.config), "status": job.status,
                 "value": self._values(job), "budget": job.budget} for job in self._jobs]

    @property
    def exhausted(self) -> bool:
        """True when nothing more can ever be proposed."""
        return self._search.exhausted

    def __repr__(self) -> str:
        return (f"Optimizer(proposer={self.proposer.name!r}, target={self.target!r}, "
                f"jobs={len(self._jobs)}, running={len(self.running)})")
