"""The ``smac`` proposer: random-forest Bayesian optimisation (Hutter et al., 2011)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tunelab.proposers._base import JobView, Proposal, Proposer
from tunelab.proposers._forest.surrogate import INACTIVE, ForestSurrogate
from tunelab.proposers._gp.acquisition import log_ei
from tunelab.proposers._gp.encoding import UnitEncoder
from tunelab.proposers._gp.model import OutputWarp
from tunelab.proposers._history import ModelHistory
from tunelab.proposers._registry import register
from tunelab.space import Config, Space

_N_RANDOM = 1000
_N_STARTS = 10
_MAX_STEPS = 20
_CONTINUOUS_MOVES = 4
_MOVE_SD = 0.2


@register
class SMACProposer(Proposer):
    """Sequential model-based configuration with a random forest (SMAC).

    The forest sees one column per parameter: the unit value for ordered kinds, the
    index position for choices, and ``-1`` for an inactive conditional parameter, so a
    single split separates the configs where it exists. The loss is log-warped (option
    ``log_y``) and expected improvement is maximised by one-exchange local search from
    the best observed configs and the best of ``1000`` random ones: each step changes
    one parameter (a Gaussian move of a number, another value of a discrete one) and
    keeps the best neighbour. With probability ``random_fraction`` a proposal is a
    random config instead, which guarantees exploration whatever the model believes.

    Args:
        space: the search space.
        seed: the random seed.
        n_initial: random configs before the model is used (default ``min(10, max(5, 2 * dim))``).
        random_fraction: probability that a model-phase proposal is random.
        n_trees: trees in the forest.
        log_y: model ``log(loss - min + delta)`` instead of the loss.
        max_points: most observations the forest is fitted on (cost bound).

    Example:
        >>> from tunelab.space import Space, Float, Choice
        >>> p = SMACProposer(Space([Float("x", 0, 1), Choice("c", ["a", "b"])]), seed=0)
        >>> len(p.propose(2, running=[]))
        2
    """

    name = "smac"

    def __init__(self, space: Space, *, seed: int = 0, n_initial: int | None = None,
                 random_fraction: float = 0.2, n_trees: int = 10, log_y: bool = True,
                 max_points: int = 500) -> None:
        super().__init__(space, seed=seed)
        self.encoder = UnitEncoder(space)
        if n_initial is None:
            n_initial = min(10, max(5, 2 * self.encoder.n_groups))
        _check_int("n_initial", n_initial, 1)
        _check_int("n_trees", n_trees, 1)
        _check_int("max_points", max_points, 20)
        if isinstance(random_fraction, bool) or not isinstance(random_fraction, (int, float)) \
                or not 0.0 <= random_fraction <= 1.0:
            raise ValueError(f"`random_fraction` must be a number in [0, 1], but got {random_fraction!r}")
        if not isinstance(log_y, bool):
            raise ValueError(f"`log_y` must be true or false, but got {log_y!r}")
        self.n_initial, self.random_fraction, self.n_trees = n_initial, float(random_fraction), n_trees
        self.log_y, self.max_points = log_y, max_points
        self._history = ModelHistory()

    def observe(self, job: JobView) -> None:
        """Add a finished job to the data."""
        self._history.observe(job)

    def on_job_failed(self, job: JobView) -> None:
        """Keep a failed config; the model sees it at the worst loss seen."""
        self._history.fail(job)

    def propose(self, n: int, running: Sequence[JobView]) -> list[Proposal]:
        out: list[Proposal] = []
        pending = [job.config for job in running]
        for i in range(n):
            rng = self.rng(100 + i)
            if (self.n_proposed + i < self.n_initial or len(self._history.finished) < 2
                    or rng.random() < self.random_fraction):
                config = self.space.sample(rng)
                out.append(Proposal(config, info={"random": True}))
            else:
                out.append(Proposal(self._maximize(*self._fit(pending, rng), rng)))
            pending.append(out[-1].config)
        return out

    def features(self, z: np.ndarray) -> np.ndarray:
        """Forest inputs of snapped ``Z`` rows: inactive parameters at ``-1``."""
        return np.where(self.encoder.active(z), z, INACTIVE)

    def _data(self) -> tuple[np.ndarray, np.ndarray]:
        """``Z`` rows and losses of the (capped) history; failures at the worst loss."""
        configs, losses = self._history.training_set(self.max_points, self.rng(1))
        return self.encoder.encode(configs), losses

    def _fit(self, pending: list[Config], rng: np.random.Generator
             ) -> tuple[ForestSurrogate, np.ndarray, np.ndarray, float]:
        """The forest on the data plus pending configs at the mean loss (constant liar).

        Returns the model, the observed ``Z`` rows sorted by loss, every ``Z`` row
        already used (observed or pending), and the best warped loss.
        """
        z, losses = self._data()
        warp = OutputWarp(losses, log=self.log_y)
        y = warp(losses)
        pending_z = self.encoder.snap(self.encoder.encode(pending))
        all_z = np.vstack([z, pending_z])
        all_y = np.concatenate([y, np.full(len(pending_z), float(np.mean(y)))])
        model = ForestSurrogate(self.n_trees, int(rng.integers(2**31 - 1))).fit(self.features(all_z), all_y)
        return model, z[np.argsort(y, kind="stable")], all_z, float(np.min(y))

    def _acquisition(self, model: ForestSurrogate, z: np.ndarray, best: float) -> np.ndarray:
        """Log expected improvement of snapped ``Z`` rows."""
        mean, var = model.predict(self.features(z))
        return log_ei(mean, np.sqrt(var), best)

    def _maximize(self, model: ForestSurrogate, ranked: np.ndarray, seen: np.ndarray, best: float,
                  rng: np.random.Generator) -> Config:
        """The unseen config of highest EI from random sampling and local search."""
        cand = self.encoder.snap(rng.random((_N_RANDOM, self.encoder.dim)))
        values = self._acquisition(model, cand, best)
        starts = np.vstack([ranked[:_N_STARTS], cand[np.argsort(-values, kind="stable")[:_N_STARTS // 2]]])
        local, local_values = self._local_search(model, starts, best, rng)
        pool = np.vstack([local, cand])
        pool_values = np.concatenate([local_values, values])
        for i in np.argsort(-pool_values, kind="stable"):
            if not np.any(np.all(np.abs(seen - pool[i]) < 1e-9, axis=1)):
                return self.encoder.decode(pool[i])
        return self.space.sample(rng)

    def _local_search(self, model: ForestSurrogate, starts: np.ndarray, best: float,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One-exchange hill climbing from every start, all starts moved together."""
        current = starts.copy()
        current_values = self._acquisition(model, current, best)
        moving = np.ones(len(current), dtype=bool)
        for _ in range(_MAX_STEPS):
            if not moving.any():
                break
            index = np.flatnonzero(moving)
            moves = [self._neighbours(current[s], rng) for s in index]
            values = np.split(self._acquisition(model, np.vstack(moves), best), np.cumsum([len(m) for m in moves])[:-1])
            for s, rows, vals in zip(index, moves, values):
                top = int(np.argmax(vals))
                if vals[top] > current_values[s] + 1e-12:
                    current[s], current_values[s] = rows[top], vals[top]
                else:
                    moving[s] = False
        return current, current_values

    def _neighbours(self, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Rows differing from ``z`` in one parameter, snapped."""
        rows = [self.encoder.neighbours(z, j, rng, limit=8) for j in self.encoder.discrete]
        for j in self.encoder.continuous:
            moved = np.repeat(z[None, :], _CONTINUOUS_MOVES, axis=0)
            moved[:, j] = np.clip(z[j] + _MOVE_SD * rng.standard_normal(_CONTINUOUS_MOVES), 0.0, 1.0)
            rows.append(moved)
        return self.encoder.snap(np.vstack(rows)) if rows else z[None, :]


def _check_int(label: str, value: object, minimum: int) -> None:
    """Raise a ValueError naming the option unless ``value`` is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{label}` must be an integer >= {minimum}, but got {value!r}")
