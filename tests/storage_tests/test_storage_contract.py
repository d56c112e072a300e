"""One storage contract, run against SQLite, PostgreSQL and MariaDB servers on this machine.

The server URLs default to the local services; set TUNELAB_TEST_POSTGRES /
TUNELAB_TEST_MYSQL to point elsewhere. An unreachable server fails the test: it is not
skipped, because the project promises these back-ends.
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from tests.conftest import POSTGRES, fresh_database
from tunelab import storage as st
from tunelab.exceptions import StorageError, UserError

SERVERS = {
    "postgresql": POSTGRES,
    "mysql": os.environ.get("TUNELAB_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        storage = st.Storage(f"sqlite:///{tmp_path / 'db.sqlite'}")
        yield storage
        storage.close()
        return
    url, drop = fresh_database(SERVERS[request.param])
    storage = st.Storage(url)
    yield storage
    storage.close()
    drop()


def test_experiment_round_trip_and_unique_names(store):
    spec = {"name": "a", "parameter_config": [{"name": "x", "range": [0, 1]}], "nested": {"k": [1, 2]}}
    created = store.create_experiment("a", spec, seed=7)
    assert store.experiment("a") == created == store.experiment(created.id)
    assert created.spec == spec and created.seed == 7 and created.status == st.RUNNING
    with pytest.raises(UserError, match="tunelab resume a"):
        store.create_experiment("a", spec, seed=1)
    with pytest.raises(StorageError, match="not found"):
        store.experiment("b")
    store.set_experiment_status(created.id, st.FINISHED, "done")
    assert store.experiment("a").status == st.FINISHED and store.experiment("a").message == "done"
    assert [e.name for e in store.experiments()] == ["a"]


def test_job_attempt_and_results_lifecycle(store):
    exp = store.create_experiment("e", {}, seed=0)
    job = store.add_job(exp.id, 0, {"x": 0.5, "opt": "adam"}, 3.0, {"bracket": 1})
    first = store.start_attempt(job, 1, {"slot": 0}, "/tmp/a1")
    store.end_attempt(job, first, job_status=st.PENDING, attempt_status=st.FAILED, error="exit code 1")
    second = store.start_attempt(job, 2, {"slot": 1, "gpus": [0]}, "/tmp/a2")
    assert store.add_intermediate(job, first, 0, 1, 0.95)
    for seq, (step, value) in enumerate(((1, 0.9), (2, 0.7), (3, 0.5))):
        assert store.add_intermediate(job, second, seq, step, value)
    assert not store.add_intermediate(job, second, 1, 2, 0.7), "a report recorded twice is refused"
    store.end_attempt(job, second, job_status=st.FINISHED, attempt_status=st.FINISHED, value=0.5,
                      extra={"accuracy": 0.97}, objectives={"loss": 0.5, "size": 12.0})
    (stored,) = store.jobs(exp.id)
    assert stored.objectives == {"loss": 0.5, "size": 12.0}
    assert stored.config == {"x": 0.5, "opt": "adam"} and stored.budget == 3.0 and stored.info == {"bracket": 1}
    assert stored.status == st.FINISHED and stored.value == 0.5 and stored.extra == {"accuracy": 0.97}
    assert stored.intermediate == [(1, 0.9), (2, 0.7), (3, 0.5)], "the curve of the attempt that counts"
    assert [(a.number, a.status, a.error) for a in stored.attempts] == [
        (1, st.FAILED, "exit code 1"), (2, st.FINISHED, None)]
    assert [a.intermediate for a in stored.attempts] == [[(1, 0.95)], [(1, 0.9), (2, 0.7), (3, 0.5)]]
    assert stored.attempt_id == second
    assert stored.attempts[1].resource == {"slot": 1, "gpus": [0]}
    assert stored.ended is not None
    assert store.job_counts(exp.id) == {st.FINISHED: 1}
    assert store.job(job) == stored


def test_non_finite_values_are_stored_as_missing(store):
    exp = store.create_experiment("nan", {}, seed=0)
    job = store.add_job(exp.id, 0, {}, None, {})
    attempt = store.start_attempt(job, 1, {}, "/tmp")
    store.end_attempt(job, attempt, job_status=st.FAILED, attempt_status=st.FAILED, value=float("nan"),
                      error="bad result")
    assert store.job(job).value is None


def test_jobs_keep_proposal_order_and_experiments_are_separate(store):
    one = store.create_experiment("one", {}, seed=0)
    two = store.create_experiment("two", {}, seed=0)
    for number in (2, 0, 1):
        store.add_job(one.id, number, {"n": number}, None, {})
    store.add_job(two.id, 0, {"n": 99}, None, {})
    assert [j.number for j in store.jobs(one.id)] == [0, 1, 2]
    assert [j.config["n"] for j in store.jobs(two.id)] == [99]


def test_schema_version_mismatch_names_the_upgrade_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    st.Storage(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE tunelab_meta SET value = '0' WHERE key = 'schema_version'"))
    engine.dispose()
    with pytest.raises(StorageError, match=r"storage schema is v0, this tunelab needs v2: run `tunelab storage"):
        st.Storage(url)


def test_unreachable_server_is_a_one_line_storage_error():
    with pytest.raises(StorageError, match="cannot open"):
        st.Storage("postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_storage_upgrade_command(tmp_path):
    from tests.conftest import tunelab

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    st.Storage(url).close()
    out = tunelab("storage", "upgrade", "--storage", url)
    assert out.returncode == 0 and "already v2" in out.stdout
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE tunelab_meta SET value = '9' WHERE key = 'schema_version'"))
    engine.dispose()
    out = tunelab("storage", "upgrade", "--storage", url)
    assert out.returncode == 2 and "newer than this tunelab" in out.stderr
    out = tunelab("ls", "--storage", url)
    assert out.returncode == 2 and "tunelab storage upgrade" in out.stderr


def test_a_late_result_of_a_superseded_attempt_never_overwrites_the_job(store):
    exp = store.create_experiment("fence", {}, seed=0)
    job = store.add_job(exp.id, 0, {}, None, {})
    lost = store.start_attempt(job, 1, {}, "/tmp/a1", host="worker-a")
    newer = store.start_attempt(job, 2, {}, "/tmp/a2", host="worker-b")
    assert store.end_attempt(job, newer, job_status=st.FINISHED, attempt_status=st.FINISHED, value=2.0)
    assert not store.end_attempt(job, lost, job_status=st.FINISHED, attempt_status=st.FINISHED, value=1.0)
    stored = store.job(job)
    assert stored.value == 2.0 and stored.status == st.FINISHED
    assert [(a.host, a.status) for a in stored.attempts] == [("worker-a", st.FINISHED), ("worker-b", st.FINISHED)]


def test_changes_since_a_revision_are_only_the_jobs_that_changed(store):
    exp = store.create_experiment("live", {}, seed=0)
    jobs = [store.add_job(exp.id, n, {"n": n}, None, {}) for n in range(3)]
    rev, changed = store.changes(exp.id, 0)
    assert [j.id for j in changed] == jobs
    assert store.changes(exp.id, rev) == (rev, [])
    attempt = store.start_attempt(jobs[1], 1, {}, "/tmp/a")
    store.add_intermediate(jobs[1], attempt, 0, 1, 0.5)
    later, changed = store.changes(exp.id, rev)
    assert later > rev and [j.id for j in changed] == [jobs[1]] and changed[0].intermediate == [(1, 0.5)]
    assert store.experiment(exp.id).rev == later


def test_one_live_owner_at_a_time(store):
    exp = store.create_experiment("owned", {}, seed=0)
    assert store.claim(exp.id, "h:1:a", lambda owner, age: False) is None
    store.beat(exp.id, "h:1:a")
    refused = store.claim(exp.id, "h:2:b", lambda owner, age: False)
    assert refused is not None and refused.owner == "h:1:a" and refused.beat is not None
    assert store.claim(exp.id, "h:2:b", lambda owner, age: owner == "h:1:a") is None, "a gone owner is replaced"
    store.release(exp.id, "h:1:a")
    assert store.experiment(exp.id).owner == "h:2:b", "only the owner releases"
    store.release(exp.id, "h:2:b")
    assert store.experiment(exp.id).owner is None


def test_requests_are_taken_once_with_their_outcome(store):
    inbox = st.Inbox(store)
    exp = store.create_experiment("asked", {}, seed=0)
    other = store.create_experiment("other", {}, seed=0)
    first = inbox.send(exp.id, st.STOP_JOB, target=7)
    second = inbox.send(exp.id, st.STOP_EXPERIMENT, payload={"mode": "drain"})
    inbox.send(other.id, st.STOP_EXPERIMENT)
    assert [(r.id, r.kind, r.target, r.payload) for r in inbox.open(exp.id)] == [
        (first, st.STOP_JOB, 7, {}), (second, st.STOP_EXPERIMENT, None, {"mode": "drain"})]
    inbox.close(first, "job 7 is not running")
    assert [r.id for r in inbox.open(exp.id)] == [second]
    assert inbox.get(first).outcome == "job 7 is not running" and inbox.get(first).handled is not None
    with pytest.raises(ValueError, match="request kind"):
        inbox.send(exp.id, "reboot")


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def v1_url(request, tmp_path):
    """A database holding what tunelab's schema v1 wrote (``data/v1_database.json``)."""
    import json
    from pathlib import Path

    v1 = json.loads((Path(__file__).parent / "data" / "v1_database.json").read_text(encoding="utf-8"))
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'v1.sqlite'}", None
    else:
        url, drop = fresh_database(SERVERS[request.param])
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in v1["ddl"][request.param]:
            conn.exec_driver_sql(statement)
        for table, rows in v1["rows"].items():
            if rows:
                conn.execute(sa.table(table, *[sa.column(c) for c in rows[0]]).insert(), rows)
            if request.param == "postgresql" and rows and "id" in rows[0]:
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
    engine.dispose()
    yield url
    if drop is not None:
        drop()


def test_a_v1_database_is_refused_until_upgraded_then_reads_and_writes_as_before(v1_url):
    with pytest.raises(StorageError, match="v1, this tunelab needs v2: run `tunelab storage upgrade"):
        st.Storage(v1_url)
    assert st.Storage.upgrade(v1_url) == "storage schema upgraded from v1 to v2"
    store = st.Storage(v1_url)
    try:
        (exp,) = store.experiments()
        jobs = store.jobs(exp.id)
        assert exp.name == "v1-made" and len(jobs) == 6 and all(j.status == st.FINISHED for j in jobs)
        assert all(len(j.intermediate) == 3 for j in jobs), "v1 intermediate values stay with their job"
        retried = [j for j in jobs if len(j.attempts) == 2]
        assert len(retried) == 2 and all(j.attempt_id == j.attempts[-1].id for j in retried)
        assert min(j.value for j in jobs) == pytest.approx(1.53408e-05, rel=1e-5)
        assert all(j.objectives is None for j in jobs), "v1 jobs had one objective"
        job = store.add_job(exp.id, 6, {"x": 0.5, "opt": "sgd"}, None, {})
        attempt = store.start_attempt(job, 1, {"slot": 0}, "/tmp/a", host="here")
        assert store.add_intermediate(job, attempt, 0, 0, 0.25)
        store.end_attempt(job, attempt, job_status=st.FINISHED, attempt_status=st.FINISHED, value=0.04,
                          objectives={"loss": 0.04, "latency_ms": 1e-300})
        rev, changed = store.changes(exp.id, 0)
        assert rev > 0 and [j.id for j in changed] == [job] and changed[0].intermediate == [(0, 0.25)]
        assert changed[0].objectives == {"loss": 0.04, "latency_ms": 1e-300}, "the upgraded column keeps them"
        st.Inbox(store).send(exp.id, st.STOP_EXPERIMENT)
    finally:
        store.close()
    assert st.Storage.upgrade(v1_url) == "storage schema is already v2"
