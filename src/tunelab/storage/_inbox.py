"""The request inbox: how the CLI and the dashboard ask a running engine to act.

Only the engine writes results. Anyone else who wants something of a running experiment
(stop a job, stop the experiment, give a passive job its score) adds a request row; the engine
takes the open rows at each tick of its loop, acts, and records the outcome. It needs no
open port and works over every storage.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from tunelab.storage import _schema as s
from tunelab.storage._store import Storage

STOP_JOB, STOP_EXPERIMENT, SCORE_JOB = "stop_job", "stop_experiment", "score_job"
KINDS = (STOP_JOB, STOP_EXPERIMENT, SCORE_JOB)


@dataclass
class Request:
    """One request: ``target`` is a job id where the kind needs one; ``outcome`` is what
    the engine did, set when ``handled``."""

    id: int
    experiment_id: int
    kind: str
    target: int | None
    payload: dict[str, Any]
    created: float
    handled: float | None
    outcome: str | None


def _request(row: Any) -> Request:
    return Request(row.id, row.experiment_id, row.kind, row.target, json.loads(row.payload), row.created,
                   row.handled, row.outcome)


class Inbox:
    """The requests of one storage."""

    def __init__(self, storage: Storage) -> None:
        self.engine = storage.engine

    def send(self, experiment_id: int, kind: str, target: int | None = None,
             payload: dict[str, Any] | None = None) -> int:
        """Add a request for the engine of the experiment; return its id."""
        if kind not in KINDS:
            raise ValueError(f"request kind must be one of {KINDS}, got {kind!r}")
        with self.engine.begin() as conn:
            result = conn.execute(insert(s.requests).values(
                experiment_id=experiment_id, kind=kind, target=target, payload=json.dumps(payload or {}),
                created=time.time()))
            return int(result.inserted_primary_key[0])

    def open(self, experiment_id: int) -> list[Request]:
        """The experiment's requests not handled yet, oldest first."""
        table = s.requests
        with self.engine.connect() as conn:
            rows = conn.execute(select(table).where(table.c.experiment_id == experiment_id,
                                                    table.c.handled.is_(None)).order_by(table.c.id)).all()
        return [_request(r) for r in rows]

    def close(self, request_id: int, outcome: str) -> None:
        """Record what was done about a request."""
        with self.engine.begin() as conn:
            conn.execute(update(s.requests).where(s.requests.c.id == request_id)
                         .values(handled=time.time(), outcome=outcome))

    def get(self, request_id: int) -> Request:
        """One request by id."""
        with self.engine.connect() as conn:
            return _request(conn.execute(select(s.requests).where(s.requests.c.id == request_id)).one())
