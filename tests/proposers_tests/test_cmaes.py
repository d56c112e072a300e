"""The CMA-ES generation bookkeeping and one-hot encoding."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.exceptions import UserError
from tunelab.proposers import JobView, create
from tunelab.proposers._cmaes import CMAESCore, _OneHotCodec
from tunelab.space import Choice, Constant, Float, Int, Space


def test_one_hot_codec_layout_and_argmax() -> None:
    space = Space([Float("x", 0.0, 10.0), Choice("c", ["a", "b", "c"]), Constant("k", 1), Int("n", 1, 3)])
    codec = _OneHotCodec(space)
    assert codec.dim == 5
    assert codec.decode(np.array([0.25, 0.1, 0.9, 0.3, 0.99])) == {"x": 2.5, "c": "b", "k": 1, "n": 3}


def test_generation_is_told_only_when_every_slot_ended() -> None:
    core = CMAESCore(2, seed=0, popsize=4)
    first = [core.solution(0, i).copy() for i in range(4)]
    core.file(0, 2, 1.0)
    core.file(0, 0, None)
    core.file(0, 1, 2.0)
    assert core.generation == 0
    core.file(0, 3, 0.5)
    assert core.generation == 1
    core.file(0, 3, 9.0)  # a late result of a past generation is ignored
    assert "generation=1" in repr(core)
    # Filing the same results in another order gives the same next generation.
    other = CMAESCore(2, seed=0, popsize=4)
    assert all(np.array_equal(other.solution(0, i), first[i]) for i in range(4))
    for index, loss in [(3, 0.5), (1, 2.0), (0, None), (2, 1.0)]:
        other.file(0, index, loss)
    assert np.array_equal(other.solution(1, 0), core.solution(1, 0))
    with pytest.raises(ValueError, match="generation 0"):
        core.solution(0, 0)


def test_parallel_batch_fills_slots_then_extras() -> None:
    space = Space([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)])
    proposer = create("cmaes", space, seed=0, options_={"popsize": 4})
    batch = proposer.propose(6, running=[])
    assert [p.info.get("cma_index") for p in batch] == [0, 1, 2, 3, None, None]
    assert batch[4].info["cma_extra"] is True
    for number, proposal in enumerate(batch):
        proposer.on_job_started(JobView(number, proposal.config, info=proposal.info))
    proposer.n_proposed = 6
    assert proposer.propose(1, running=[])[0].info.get("cma_extra") is True
    for number, proposal in enumerate(batch[:4]):
        proposer.observe(JobView(number, proposal.config, "finished", loss=proposal.config["x"], info=proposal.info))
    assert proposer.propose(1, running=[])[0].info == {"cma_generation": 1, "cma_index": 0}


def test_converges_on_a_sphere() -> None:
    space = Space([Float(f"x{i}", -1.0, 1.0) for i in range(3)])
    proposer = create("cmaes", space, seed=0)
    best = np.inf
    for number in range(120):
        (proposal,) = proposer.propose(1, running=[])
        job = JobView(number, proposal.config, info=proposal.info)
        proposer.n_proposed += 1
        proposer.on_job_started(job)
        job.status, job.loss = "finished", sum((v - 0.3) ** 2 for v in proposal.config.values())
        best = min(best, job.loss)
        proposer.observe(job)
    assert best < 1e-3


@pytest.mark.parametrize("options", [{"popsize": 3}, {"sigma0": 0}, {"sigma0": 2.0}])
def test_bad_options_are_user_errors(options: dict) -> None:
    with pytest.raises(UserError, match=next(iter(options))):
        create("cmaes", Space([Float("x", 0.0, 1.0)]), seed=0, options_=options)
