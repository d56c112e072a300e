"""The proposer interface: a small ask/tell contract with a documented lifecycle."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from tunelab.space import Config, Space

FINISHED, FAILED, STOPPED, RUNNING = "finished", "failed", "stopped", "running"


@dataclass
class JobView:
    """What a proposer knows of one job.

    Attributes:
        number: order in which the job was proposed (0, 1, ...), stable across resumes.
        config: the job's configuration.
        status: ``running``, ``finished``, ``failed`` or ``stopped``.
        loss: the result to MINIMIZE (the sign of ``target`` already applied); ``None``
            when the job has no result.
        budget: the job's budget under multi-fidelity search, else ``None``.
        intermediate: ``(step, loss)`` pairs reported so far, signed like ``loss``.
        info: what the proposer attached to the proposal (JSON), returned as it was.
        losses: with several objectives, every objective to MINIMIZE (each signed by its
            direction; ``loss`` is the first); ``None`` otherwise or without a result.
    """

    number: int
    config: Config
    status: str = RUNNING
    loss: float | None = None
    budget: float | None = None
    intermediate: list[tuple[int, float]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    losses: tuple[float, ...] | None = None


@dataclass
class Proposal:
    """One configuration to run, with an optional budget and proposer bookkeeping (JSON)."""

    config: Config
    budget: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


class Proposer(abc.ABC):
    """A search algorithm, asked for configurations and told results.

    Lifecycle, as the engine (or :class:`tunelab.Optimizer`) drives it:

    1. ``__init__(space, seed=..., **options)``: unknown options are an error.
    2. On resume, the history is replayed in proposal order: ``on_job_started`` for
       every job, then ``observe`` (or ``on_job_failed``) for every ended one, so the
       state is a function of the space, the seed and the stored history.
    3. ``propose(n, running)`` whenever slots are free: up to ``n`` proposals; fewer (or
       none) when the proposer is waiting for results or is exhausted.
    4. ``on_job_started(job)`` once each proposal becomes a job.
    5. ``observe(job)`` when a job ends with a result (finished, or stopped early with
       its last value); ``on_job_failed(job)`` when it ends without one.

    Proposers work in minimization (``JobView.loss``), return configs and never touch
    executors or storage. Randomness comes from :meth:`rng`, derived from the seed and
    the number of proposals made so far, so a resumed run repeats a serial one.

    Attributes:
        n_proposed: proposals turned into jobs so far (kept by the caller).
        exhausted: True once the proposer has nothing more to propose.
    """

    name: ClassVar[str] = ""
    multi_fidelity: ClassVar[bool] = False
    multi_objective: ClassVar[bool] = False
    """True when the proposer searches with several objectives (``JobView.losses``)."""

    def __init__(self, space: Space, *, seed: int = 0) -> None:
        self.space = space
        self.seed = int(seed)
        self.n_proposed = 0
        self.exhausted = False

    def rng(self, salt: int = 0) -> np.random.Generator:
        """A generator seeded by (seed, proposals made so far, salt)."""
        return np.random.default_rng([self.seed, self.n_proposed, salt])

    @property
    def finite(self) -> bool:
        """True when the proposer ends by itself (a grid, a list, a fixed number of brackets)."""
        return False

    def rng_for_job(self, number: int) -> np.random.Generator:
        """A generator for the job with proposal ``number``: the same however jobs are batched."""
        return np.random.default_rng([self.seed, number, 0x5EED])

    @abc.abstractmethod
    def propose(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        """Up to ``n`` new proposals; ``running`` are the jobs still in flight."""

    @abc.abstractmethod
    def observe(self, job: JobView) -> None:
        """Learn from a job that ended with a result (``job.loss`` is set)."""

    def on_job_started(self, job: JobView) -> None:
        """A proposal became a job (also called during history replay)."""

    def on_job_failed(self, job: JobView) -> None:
        """A job ended without a result."""
