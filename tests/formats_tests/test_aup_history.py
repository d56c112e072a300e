"""Reading an Auptimizer sqlite history, built here with Auptimizer's own schema."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tunelab.exceptions import UserError
from tunelab.formats.aup_history import read_aup_history

# Auptimizer's schema (src/aup/setupdb/sqlite.py, v1.4+).
SCHEMA = """
CREATE TABLE user (uid INTEGER PRIMARY KEY NOT NULL, name TEXT UNIQUE, permission BLOB);
CREATE TABLE resource (rid INTEGER PRIMARY KEY NOT NULL, name TEXT, type TEXT, status TEXT);
CREATE TABLE experiment (eid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, uid INTEGER, start_time INTEGER,
    end_time INTEGER, status TEXT CHECK(status IN ('CREATED', 'RUNNING', 'STOPPED', 'FINISHED', 'FAILED',
    'STOPPING', 'REQUEST_STOP')), exp_config BLOB, error_msg TEXT NULL, FOREIGN KEY(uid) REFERENCES user(uid));
CREATE TABLE job (jid INTEGER PRIMARY KEY NOT NULL, score REAL, eid INTEGER, start_time INTEGER, end_time INTEGER,
    status TEXT CHECK(status IN ('RUNNING', 'EARLY_STOPPED', 'FINISHED', 'FAILED')), job_config BLOB,
    FOREIGN KEY(eid) REFERENCES experiment(eid));
CREATE TABLE job_attempt (jaid INTEGER PRIMARY KEY NOT NULL, jid INTEGER, num INTEGER, rid INTEGER,
    start_time INTEGER, end_time INTEGER);
CREATE TABLE intermediate_result (irid INTEGER PRIMARY KEY NOT NULL, num INTEGER, score REAL, jid INTEGER,
    receive_time INTEGER);
CREATE TABLE multiple_result (mrid INTEGER PRIMARY KEY NOT NULL, label_order INTEGER, value REAL,
    receive_time INTEGER, jid INTEGER, irid INTEGER, eid INTEGER, is_last_result INTERGER);
"""

# The schema of Auptimizer before v1.4 (docs/Database/schema.sql): no status columns.
OLD_SCHEMA = """
CREATE TABLE experiment (eid INTEGER PRIMARY KEY NOT NULL, uid INTEGER, start_time INTEGER, end_time INTEGER,
    exp_config BLOB);
CREATE TABLE job (jid INTEGER PRIMARY KEY NOT NULL, score REAL, eid INTEGER, rid INTEGER, start_time INTEGER,
    end_time INTEGER, job_config BLOB);
CREATE TABLE job_attempt (jaid INTEGER PRIMARY KEY NOT NULL, jid INTEGER, num INTEGER, rid INTEGER,
    start_time INTEGER, end_time INTEGER);
CREATE TABLE intermediate_result (irid INTEGER PRIMARY KEY NOT NULL, num INTEGER, score REAL, jid INTEGER,
    receive_time INTEGER);
"""


def _db(path: Path, schema: str) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.executescript(schema)
    return db


def test_reads_jobs_statuses_attempts_intermediate_and_labels(tmp_path: Path) -> None:
    path = tmp_path / "sqlite3.db"
    db = _db(path, SCHEMA)
    exp = {"name": "./quad/exp.json", "proposer": "random", "target": "min",
           "resource_args": {"multi_res_labels": ["acc", "time"]}}
    db.execute("INSERT INTO experiment (eid, uid, start_time, status, exp_config) VALUES (1, 1, 10, 'FINISHED', ?)",
               (json.dumps(exp),))
    jobs = [(1, 0.5, "FINISHED", {"x": 1.0, "job_id": 1}), (2, None, "FAILED", {"x": 2.0}),
            (3, 0.7, "EARLY_STOPPED", {"x": 3.0}), (4, None, "RUNNING", {"x": 4.0})]
    for jid, score, status, config in jobs:
        db.execute("INSERT INTO job VALUES (?, ?, 1, 100, 200, ?, ?)", (jid, score, status, json.dumps(config)))
        db.execute("INSERT INTO job_attempt (jid, num, rid, start_time) VALUES (?, 0, 1, 100)", (jid,))
    db.execute("INSERT INTO job_attempt (jid, num, rid, start_time) VALUES (2, 1, 2, 150)")
    db.executemany("INSERT INTO intermediate_result (num, score, jid) VALUES (?, ?, 3)", [(0, 0.9), (1, 0.7)])
    db.executemany("INSERT INTO multiple_result (label_order, value, jid, eid, is_last_result) VALUES (?, ?, 1, 1, ?)",
                   [(1, 0.95, 1), (2, 12.0, 1), (1, 0.5, 0)])
    db.commit()
    db.close()
    records = read_aup_history(path)
    assert [(r["job_id"], r["config"], r["score"], r["status"], r["attempts"]) for r in records] == [
        (1, {"x": 1.0}, 0.5, "finished", 1), (2, {"x": 2.0}, None, "failed", 2),
        (3, {"x": 3.0}, 0.7, "stopped", 1), (4, {"x": 4.0}, None, "cancelled", 1)]
    assert records[0]["experiment"] == "./quad/exp.json" and records[0]["target"] == "min"
    assert records[0]["extra"] == {"acc": 0.95, "time": 12.0}
    assert records[2]["intermediate"] == [(0, 0.9), (1, 0.7)]
    assert read_aup_history(path, experiment=2) == []


def test_reads_the_old_schema_and_hyperband_budgets(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = _db(path, OLD_SCHEMA)
    db.execute("INSERT INTO experiment VALUES (1, 1, 0, 0, ?)", (json.dumps({"proposer": "hyperband"}),))
    db.execute("INSERT INTO job VALUES (1, 0.3, 1, 1, 0, 1, ?)", (json.dumps({"x": 1, "tid": 0, "n_iterations": 9}),))
    db.execute("INSERT INTO job VALUES (2, -999, 1, 1, 0, 1, ?)", (json.dumps({"x": 2, "tid": 1, "n_iterations": 3}),))
    db.commit()
    db.close()
    records = read_aup_history(path)
    assert [(r["config"], r["budget"], r["score"], r["status"]) for r in records] == [
        ({"x": 1}, 9, 0.3, "finished"), ({"x": 2}, 3, None, "failed")]
    assert records[0]["experiment"] == "aup-1" and records[0]["target"] == "max"


def test_missing_or_foreign_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        read_aup_history(tmp_path / "nope.db")
    (tmp_path / "x.db").write_text("not sqlite at all, just text" * 20)
    with pytest.raises(UserError, match="is not an Auptimizer database"):
        read_aup_history(tmp_path / "x.db")


def test_tunelab_import_then_history_from_seeds_a_new_search(tmp_path: Path) -> None:
    from tests.conftest import show, tunelab, write, write_experiment

    path = tmp_path / "sqlite3.db"
    db = _db(path, SCHEMA)
    exp = {"name": "./quad/exp.json", "proposer": "random", "target": "min"}
    db.execute("INSERT INTO experiment (eid, uid, start_time, status, exp_config) VALUES (1, 1, 10, 'FINISHED', ?)",
               (json.dumps(exp),))
    grid = [0, 1, 2, 3]
    for jid, x in enumerate(grid, start=1):
        db.execute("INSERT INTO job VALUES (?, ?, 1, 100, 200, 'FINISHED', ?)", (jid, (x - 2) ** 2,
                                                                                 json.dumps({"x": x})))
    db.commit()
    db.close()
    url = f"sqlite:///{tmp_path / 'tl.db'}"
    out = tunelab("import", str(path), "--name", "past", "--storage", url)
    assert out.returncode == 0, out.stderr
    past = show("past", url)
    assert past["experiment"]["status"] == "imported"
    assert [(j["config"]["x"], j["result"], j["status"]) for j in past["jobs"]] == [
        (x, (x - 2) ** 2, "finished") for x in grid]
    assert past["best"]["config"] == {"x": 2}
    assert tunelab("resume", "past", "--storage", url).returncode == 2
    write(tmp_path / "train.py", "import json, sys\nx = json.load(open(sys.argv[1]))['x']\n"
                                 "print(f'#Auptimizer:{(x - 2) ** 2}')\n")
    spec = write_experiment(tmp_path, name="new", script="train.py", proposer="sequence", history_from=["past"],
                            parameter_config=[{"name": "x", "type": "int", "range": [0, 5]}])
    out = tunelab("run", str(spec), "--storage", url, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert sorted(j["config"]["x"] for j in show("new", url)["jobs"]) == [4, 5]
