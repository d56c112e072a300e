"""One storage contract, run against SQLite, PostgreSQL and MariaDB servers on this machine.

The server URLs default to the local services; set TUNELAB_TEST_POSTGRES /
TUNELAB_TEST_MYSQL to point elsewhere. An unreachable server fails the test: it is not
skipped, because the project promises these back-ends.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from tunelab import storage as st
from tunelab.exceptions import StorageError, UserError

SERVERS = {
    "postgresql": os.environ.get("TUNELAB_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    "mysql": os.environ.get("TUNELAB_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}


def _fresh_database(server: str) -> tuple[str, sa.Engine, str]:
    """A new empty database on ``server``; returns its URL, an admin engine and its name."""
    name = f"tl_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    return server.rsplit("/", 1)[0] + "/" + name, admin, name


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        storage = st.Storage(f"sqlite:///{tmp_path / 'db.sqlite'}")
        yield storage
        storage.close()
        return
    url, admin, name = _fresh_database(SERVERS[request.param])
    storage = st.Storage(url)
    yield storage
    storage.close()
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE {name}"))
    admin.dispose()


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
    for step, value in ((1, 0.9), (2, 0.7), (3, 0.5)):
        store.add_intermediate(job, step, value)
    store.end_attempt(job, second, job_status=st.FINISHED, attempt_status=st.FINISHED, value=0.5,
                      extra={"accuracy": 0.97})
    (stored,) = store.jobs(exp.id)
    assert stored.config == {"x": 0.5, "opt": "adam"} and stored.budget == 3.0 and stored.info == {"bracket": 1}
    assert stored.status == st.FINISHED and stored.value == 0.5 and stored.extra == {"accuracy": 0.97}
    assert stored.intermediate == [(1, 0.9), (2, 0.7), (3, 0.5)]
    assert [(a.number, a.status, a.error) for a in stored.attempts] == [
        (1, st.FAILED, "exit code 1"), (2, st.FINISHED, None)]
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
    with pytest.raises(StorageError, match=r"storage schema is v0, this tunelab needs v1: run `tunelab storage"):
        st.Storage(url)


def test_unreachable_server_is_a_one_line_storage_error():
    with pytest.raises(StorageError, match="cannot open"):
        st.Storage("postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_storage_upgrade_command(tmp_path):
    from tests.conftest import tunelab

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    st.Storage(url).close()
    out = tunelab("storage", "upgrade", "--storage", url)
    assert out.returncode == 0 and "already v1" in out.stdout
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE tunelab_meta SET value = '9' WHERE key = 'schema_version'"))
    engine.dispose()
    out = tunelab("storage", "upgrade", "--storage", url)
    assert out.returncode == 2 and "newer than this tunelab" in out.stderr
    out = tunelab("ls", "--storage", url)
    assert out.returncode == 2 and "tunelab storage upgrade" in out.stderr
