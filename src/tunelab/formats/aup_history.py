"""Read an Auptimizer history (``.aup/sqlite3.db``) into plain job records.

Auptimizer keeps experiments in ``experiment`` (``exp_config`` is the experiment JSON),
jobs in ``job`` (``job_config`` JSON, ``score``, ``status`` since v1.4), attempts in
``job_attempt``, intermediate values in ``intermediate_result`` (``num`` from 0) and
extra labelled values in ``multiple_result`` (``label_order`` from 1, in the order of
``resource_args.multi_res_labels``). Databases from before v1.4 have no ``status``
columns; their unfinished jobs were closed by ``aup.setupdb.reset`` with ``score = -999``.

Example (an Auptimizer project folder; ``tests/formats_tests/test_aup_history.py`` runs it
on real databases)::

    records = read_aup_history(".aup/sqlite3.db")
    records[0]["config"], records[0]["score"], records[0]["status"]
    # ({'x': 1.2}, 0.04, 'finished')
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tunelab.exceptions import UserError

STATUSES = {"FINISHED": "finished", "FAILED": "failed", "EARLY_STOPPED": "stopped", "RUNNING": "cancelled"}
"""Auptimizer job status -> tunelab job state (a job still RUNNING was interrupted)."""

BOOKKEEPING = ("tid", "job_id", "save_model", "folder_name")
"""Keys Auptimizer adds to a job's config for itself; they are not parameters."""

_RESET_SCORE = -999.0


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def _json(blob: Any) -> dict[str, Any]:
    if blob is None:
        return {}
    if isinstance(blob, bytes):
        blob = blob.decode("utf-8")
    try:
        data = json.loads(blob)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _status(raw: str | None, score: float | None) -> str:
    if raw is not None:
        return STATUSES.get(raw, "failed")
    return "failed" if score is None or score == _RESET_SCORE else "finished"


def _experiments(db: sqlite3.Connection) -> dict[int, dict[str, Any]]:
    has_name = "name" in _columns(db, "experiment")
    query = "SELECT eid, exp_config" + (", name" if has_name else "") + " FROM experiment"
    out = {}
    for row in db.execute(query):
        config = _json(row[1])
        out[row[0]] = {"name": row[2] if has_name and row[2] else config.get("name", f"aup-{row[0]}"),
                       "config": config}
    return out


def _intermediate(db: sqlite3.Connection) -> dict[int, list[tuple[int, float]]]:
    out: dict[int, list[tuple[int, float]]] = {}
    for jid, num, score in db.execute("SELECT jid, num, score FROM intermediate_result ORDER BY jid, num"):
        out.setdefault(jid, []).append((int(num), float(score)))
    return out


def _extras(db: sqlite3.Connection, labels: dict[int, list[str]], job_eid: dict[int, int]) -> dict[int, dict]:
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "multiple_result" not in tables:
        return {}
    out: dict[int, dict[str, float]] = {}
    query = ("SELECT jid, label_order, value FROM multiple_result WHERE is_last_result = 1 "
             "ORDER BY jid, label_order")
    for jid, order, value in db.execute(query):
        names = labels.get(job_eid.get(jid, -1), [])
        name = names[order - 1] if 0 < order <= len(names) else f"extra{order}"
        out.setdefault(jid, {})[name] = float(value)
    return out


def read_aup_history(path: str | Path, *, experiment: int | str | None = None) -> list[dict[str, Any]]:
    """Every job of an Auptimizer database, oldest first.

    Args:
        path: the ``sqlite3.db`` file (usually ``.aup/sqlite3.db``).
        experiment: keep only this experiment id (``eid``) or name.

    Returns:
        One dict per job: ``experiment`` (name), ``experiment_id``, ``target`` ("min" or
        "max"), ``job_id``, ``config`` (parameters only), ``budget`` (Auptimizer's
        ``n_iterations``, or None), ``score`` (None when absent), ``status`` (finished,
        failed, stopped or cancelled), ``start_time``/``end_time`` (Unix seconds),
        ``attempts``, ``intermediate`` ([(step, value)]) and ``extra`` ({label: value}).

    Raises:
        UserError: the file is missing or is not an Auptimizer database.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"history: {str(path)!r} does not exist; give the path of .aup/sqlite3.db")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _read(db, experiment)
    except sqlite3.DatabaseError as exc:
        raise UserError(f"history: {path} is not an Auptimizer database ({exc}); give .aup/sqlite3.db") from None
    finally:
        db.close()


def _read(db: sqlite3.Connection, experiment: int | str | None) -> list[dict[str, Any]]:
    experiments = _experiments(db)
    has_status = "status" in _columns(db, "job")
    query = ("SELECT jid, eid, score, start_time, end_time, job_config"
             + (", status" if has_status else "") + " FROM job ORDER BY jid")
    rows = db.execute(query).fetchall()
    job_eid = {row[0]: row[1] for row in rows}
    labels = {eid: list((info["config"].get("resource_args") or {}).get("multi_res_labels") or [])
              for eid, info in experiments.items()}
    attempts = dict(db.execute("SELECT jid, COUNT(*) FROM job_attempt GROUP BY jid").fetchall())
    intermediate, extras = _intermediate(db), _extras(db, labels, job_eid)
    records = []
    for row in rows:
        jid, eid, score = row[0], row[1], row[2]
        info = experiments.get(eid, {"name": f"aup-{eid}", "config": {}})
        if experiment is not None and experiment not in (eid, info["name"]):
            continue
        config = _json(row[5])
        budgeted = info["config"].get("proposer") in ("hyperband", "bohb")
        budget = config.pop("n_iterations", None) if budgeted else None
        status = _status(row[6] if has_status else None, score)
        records.append({
            "experiment": info["name"], "experiment_id": eid, "target": info["config"].get("target", "max"),
            "job_id": jid, "config": {k: v for k, v in config.items() if k not in BOOKKEEPING},
            "budget": budget, "score": None if status == "failed" else score, "status": status,
            "start_time": row[3], "end_time": row[4], "attempts": attempts.get(jid, 1),
            "intermediate": intermediate.get(jid, []), "extra": extras.get(jid, {}),
        })
    return records
