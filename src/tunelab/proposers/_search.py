"""The search around a proposer: direction, initial configs, repeats and history replay.

The engine and :class:`tunelab.Optimizer` both drive a proposer through :class:`Search`,
so every proposer gets the same treatment of ``target``, ``initial_configs``, finite
spaces and resume, without implementing any of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from tunelab.proposers._base import FAILED, JobView, Proposal, Proposer
from tunelab.space import Config, Space

_RETRIES = 5
_ENUMERABLE = 100_000
"""Finite spaces up to this many configs are enumerated to find unseen ones."""


def sign_of(target: str) -> float:
    """+1 to minimize, -1 to maximize: proposers always minimize ``sign * value``."""
    return -1.0 if target == "max" else 1.0


class Search:
    """Serves ``initial_configs`` first, then the proposer; never repeats a config of a
    finite space; rebuilds the proposer's state from a job history.

    Args:
        space: the search space.
        proposer: the algorithm.
        initial_configs: validated configs to run before anything is proposed.
    """

    def __init__(self, space: Space, proposer: Proposer, initial_configs: Sequence[Config] = ()) -> None:
        self.space = space
        self.proposer = proposer
        self.initial = [space.validate(c, where=f"initial_configs[{i}]") for i, c in enumerate(initial_configs)]
        self._seen: set[str] = set()
        self._numbers = 0

    @property
    def exhausted(self) -> bool:
        """True when nothing more can be proposed."""
        if self._numbers < len(self.initial):
            return False
        if self.proposer.exhausted:
            return True
        return not self.proposer.multi_fidelity and len(self._seen) >= self.space.cardinality

    def _key(self, proposal: Proposal) -> str:
        return self.space.key(proposal.config) + f"@{proposal.budget}"

    def ask(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        """Up to ``n`` proposals, each to be started with :meth:`started`."""
        out: list[Proposal] = []
        while len(out) < n and self._numbers + len(out) < len(self.initial):
            out.append(Proposal(dict(self.initial[self._numbers + len(out)]), info={"initial": True}))
        finite = not math.isinf(self.space.cardinality) and not self.proposer.multi_fidelity
        keys = {self._key(p) for p in out}
        for _ in range(_RETRIES):
            if len(out) >= n or self.exhausted:
                break
            fresh = self.proposer.propose(n - len(out), running)
            if not fresh:
                break
            for proposal in fresh:
                proposal.config = self.space.validate(proposal.config)
                key = self._key(proposal)
                if finite and (key in self._seen or key in keys):
                    continue
                keys.add(key)
                out.append(proposal)
            if not finite:
                break
        if finite and len(out) < n and not self.proposer.exhausted and self.space.cardinality <= _ENUMERABLE:
            out += self._unseen(n - len(out), keys)
        return out[:n]

    def _unseen(self, n: int, taken: set[str]) -> list[Proposal]:
        """Up to ``n`` configs of a small finite space not run yet, drawn with the seed.

        The fallback when a proposer keeps proposing repeats (random sampling of a
        nearly exhausted space), so the search never ends before the space does.
        """
        fresh = [c for c in self.space.grid() if self._key(Proposal(c)) not in self._seen | taken]
        rng = np.random.default_rng([self.proposer.seed, self._numbers, 0xF111])
        picked = rng.permutation(len(fresh))[:n]
        return [Proposal(fresh[i], info={"via": "unseen"}) for i in picked]

    def started(self, job: JobView) -> None:
        """Record that a proposal became the job ``job``."""
        self._seen.add(self._key(Proposal(job.config, job.budget)))
        self._numbers += 1
        if not job.info.get("initial"):
            self.proposer.n_proposed += 1
        self.proposer.on_job_started(job)

    def ended(self, job: JobView) -> None:
        """Tell the proposer a job ended (finished, stopped or failed)."""
        if job.status == FAILED or job.loss is None or not math.isfinite(job.loss):
            self.proposer.on_job_failed(job)
        else:
            self.proposer.observe(job)

    def preload(self, jobs: Iterable[JobView]) -> None:
        """Teach the proposer results from earlier experiments (not jobs of this one).

        Their configs count as seen, so a finite space does not run them again.
        """
        for job in jobs:
            self._seen.add(self._key(Proposal(job.config, job.budget)))
            if job.loss is not None and math.isfinite(job.loss):
                self.proposer.observe(job)

    def restore(self, jobs: Iterable[JobView]) -> None:
        """Replay a stored history (in proposal order) into a fresh proposer."""
        ordered = sorted(jobs, key=lambda j: j.number)
        for job in ordered:
            self.started(job)
        for job in ordered:
            if job.status != "running":
                self.ended(job)

