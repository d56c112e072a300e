"""A serial search driven by hand: ask one, start it, end it, as the engine would."""

from __future__ import annotations

from collections.abc import Callable

from tunelab.proposers import JobView, Search


def serial_run(search: Search, n_jobs: int, loss: Callable[[dict], float | tuple[float, ...]], *,
               fail_every: int = 0) -> list[JobView]:
    """Run ``n_jobs`` one at a time; every ``fail_every``-th job fails. Returns the ended jobs.

    ``loss`` returns one loss, or a tuple of losses (several objectives: the first is the
    job's main loss)."""
    jobs: list[JobView] = []
    for number in range(n_jobs):
        (proposal,) = search.ask(1, running=[])
        job = JobView(number, proposal.config, "running", info=dict(proposal.info))
        search.started(job)
        if fail_every and number % fail_every == fail_every - 1:
            job.status = "failed"
        else:
            result = loss(proposal.config)
            if isinstance(result, tuple):
                job.losses, result = result, result[0]
            job.status, job.loss = "finished", result
        search.ended(job)
        jobs.append(job)
    return jobs
