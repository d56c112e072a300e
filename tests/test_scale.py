"""Cost grows gently: the coordinator's storage work per job is the same at job 300 as at
job 30, and no statement in the loop reads the experiment's whole history (the measured
counterpart is ``benchmarks/cluster.py --scale``)."""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import event
from sqlalchemy.engine import Engine as SqlEngine

from tunelab import api

JOBS = 300
WINDOW = 50


def square(config: dict) -> float:
    return config["x"] ** 2


def _clocked(statement: str) -> bool:
    """Statements made on a clock, not per job: the inbox look and the heartbeat."""
    return "FROM requests" in statement or "SET beat" in statement


def test_storage_statements_per_job_do_not_grow_with_history(storage_url):
    finished = [0]
    statements: list[tuple[int, str]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((finished[0], " ".join(statement.split())))

    def count(engine):
        finished[0] = engine.counts["finished"]

    event.listen(SqlEngine, "before_cursor_execute", record)
    try:
        result = api.run({"name": "long", "n_samples": JOBS, "n_parallel": 2, "proposer": "random", "random_seed": 0,
                          "parameter_config": [{"name": "x", "type": "float", "range": [-1, 1]}]},
                         storage=storage_url, objective=square, on_change=count)
    finally:
        event.remove(SqlEngine, "before_cursor_execute", record)
    assert [j.status for j in result.jobs] == ["finished"] * JOBS

    def made(first: int) -> Counter:
        return Counter(s for n, s in statements if first <= n < first + WINDOW and not _clocked(s))

    early, late = made(20), made(JOBS - WINDOW - 10)
    assert set(early) == set(late), set(early) ^ set(late)
    assert abs(sum(late.values()) - sum(early.values())) <= 0.05 * sum(early.values()), (early, late)
    assert all(count >= WINDOW - 5 for count in early.values()), early
    reads = {s for n, s in statements if 0 < n < JOBS and re.search(r"\bFROM jobs\b", s) and "jobs.id = ?" not in s}
    assert not reads, "a statement in the loop reads every job of the experiment"
