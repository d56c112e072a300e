"""Storage of experiments, jobs, attempts and results through SQLAlchemy Core.

The engine is the only writer while an experiment runs; every write is one small
transaction, committed before the engine acts on it. JSON columns are text, so the same
schema works on SQLite, PostgreSQL and MySQL.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Double, create_engine, event, func, insert, inspect, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError

from tunelab.exceptions import StorageError, UserError
from tunelab.masking import mask
from tunelab.storage import _schema as s

STORAGE_ENV = "TUNELAB_STORAGE"
"""Environment variable naming the storage URL when ``--storage`` is not given."""

PENDING, RUNNING, FINISHED, FAILED, STOPPED, CANCELLED = (
    "pending", "running", "finished", "failed", "stopped", "cancelled")
TERMINAL = (FINISHED, FAILED, STOPPED, CANCELLED)
LOST = "lost"
"""An attempt's status when the machine running it went away (a Dask worker died): not
the trial's failure, so it does not spend ``job_retries``."""


def default_url(cwd: Path | None = None) -> str:
    """The storage URL: ``$TUNELAB_STORAGE``, else ``.tunelab/tunelab.db`` in ``cwd``."""
    if os.environ.get(STORAGE_ENV):
        return os.environ[STORAGE_ENV]
    folder = (cwd or Path.cwd()) / ".tunelab"
    return f"sqlite:///{folder / 'tunelab.db'}"


def _url_field(url: str) -> str:
    """How the user gave ``url``: ``$TUNELAB_STORAGE`` or the ``--storage`` option."""
    return f"${STORAGE_ENV}" if url and url == os.environ.get(STORAGE_ENV) else "--storage"


def _check_sqlite_path(path: Path, field: str) -> None:
    """Make the database file's folder; refuse a folder that cannot hold it."""
    if path.is_dir():
        raise StorageError(f"{field}: {str(path)!r} is a folder; name a database file in it, like "
                           f"sqlite:///{path / 'tunelab.db'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"{field}: cannot make the folder {str(path.parent)!r} ({exc.strerror}); "
                           f"choose a folder you may write to") from None
    if not path.exists() and not os.access(path.parent, os.W_OK):
        raise StorageError(f"{field}: the folder {str(path.parent)!r} is read-only; "
                           f"choose a folder you may write to")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _finite_values(extra: dict[str, float]) -> dict[str, float | None]:
    """Extra values as recorded: NaN and infinities become null, never a number (and the
    stored JSON stays valid for every reader)."""
    return {name: _finite_or_none(value) for name, value in extra.items()}


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass
class Attempt:
    """One run of a job."""

    id: int
    number: int
    status: str
    resource: dict[str, Any]
    folder: str | None
    started: float
    ended: float | None
    error: str | None
    host: str | None = None
    intermediate: list[tuple[int, float]] = field(default_factory=list)


@dataclass
class Job:
    """One configuration run by the user's code, with its result and history."""

    id: int
    experiment_id: int
    number: int
    config: dict[str, Any]
    budget: float | None
    status: str
    value: float | None
    extra: dict[str, float]
    info: dict[str, Any]
    error: str | None
    created: float
    ended: float | None
    attempts: list[Attempt] = field(default_factory=list)
    intermediate: list[tuple[int, float]] = field(default_factory=list)
    attempt_id: int | None = None
    rev: int = 0
    objectives: dict[str, float] | None = None
    parent_id: int | None = None
    """``intermediate`` is the curve of the attempt that counts (``attempt_id``, the latest);
    each attempt keeps its own in ``attempts[i].intermediate``. ``objectives`` holds every
    objective's value (name to value) when the experiment has several. ``parent_id`` is the
    job whose checkpoint this one started from (population-based training), else None."""


@dataclass
class Experiment:
    """A stored experiment."""

    id: int
    name: str
    status: str
    spec: dict[str, Any]
    seed: int
    created: float
    updated: float
    message: str | None
    rev: int = 0
    owner: str | None = None
    beat: float | None = None


def _experiment(row: Any) -> Experiment:
    return Experiment(row.id, row.name, row.status, json.loads(row.spec), row.seed, row.created, row.updated,
                      row.message, row.rev, row.owner, row.beat)


def _job(row: Any) -> Job:
    return Job(row.id, row.experiment_id, row.number, json.loads(row.config), row.budget, row.status, row.value,
               json.loads(row.extra or "{}"), json.loads(row.info or "{}"), row.error, row.created, row.ended,
               attempt_id=row.attempt_id, rev=row.rev, objectives=json.loads(row.objectives) if row.objectives else None,
               parent_id=row.parent_id)


def _touch(conn: Connection, job_id: int) -> None:
    """Count one change of the job's experiment and stamp the job with the new ``rev``."""
    experiment_id = select(s.jobs.c.experiment_id).where(s.jobs.c.id == job_id).scalar_subquery()
    conn.execute(update(s.experiments).where(s.experiments.c.id == experiment_id)
                 .values(rev=s.experiments.c.rev + 1))
    rev = select(s.experiments.c.rev).where(s.experiments.c.id == s.jobs.c.experiment_id).scalar_subquery()
    conn.execute(update(s.jobs).where(s.jobs.c.id == job_id).values(rev=rev))


class Storage:
    """A tunelab database at ``url`` (``sqlite:///path``, ``postgresql+psycopg://...``).

    Raises:
        StorageError: the URL is malformed, the server unreachable, or the schema is
            from another tunelab version.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = default_url() if url is None else url
        self.engine = self._connect(self.url)
        try:
            self._check_schema()
        except StorageError:
            self.engine.dispose()
            raise

    @staticmethod
    def _connect(url: str) -> Engine:
        field = _url_field(url)
        shown = mask(url)
        if not url.strip() or url.rstrip("/") == "sqlite:":
            raise StorageError(f"{field}: {shown!r} names no database; give a URL like sqlite:///path/to/tunelab.db "
                               f"or postgresql+psycopg://user@host/db")
        try:
            if url.startswith("sqlite:///"):
                path = Path(url[len("sqlite:///"):])
                if str(path) != ":memory:":
                    _check_sqlite_path(path, field)
                engine = create_engine(url, connect_args={"timeout": 30})
                event.listen(engine, "connect", _sqlite_pragmas)
                return engine
            return create_engine(url, pool_pre_ping=True)
        except (ArgumentError, ModuleNotFoundError, ValueError) as exc:
            raise StorageError(f"{field}: cannot use {shown!r} ({mask(str(exc))}); give a URL like "
                               f"sqlite:///path/to/db or postgresql+psycopg://user@host/db") from None

    def _check_schema(self) -> None:
        try:
            with self.engine.begin() as conn:
                row = None
                tables = set(inspect(conn).get_table_names())
                if s.meta.name in tables:
                    row = conn.execute(select(s.meta.c.value).where(s.meta.c.key == "schema_version")).first()
                if row is None:
                    taken = sorted(tables & set(s.metadata.tables))
                    if taken:
                        raise StorageError(f"{_url_field(self.url)}: {mask(self.url)!r} is a database of another "
                                           f"program (it has tables {', '.join(taken)} but no tunelab_meta); "
                                           f"use another database")
                    s.metadata.create_all(conn)
                    conn.execute(insert(s.meta).values(key="schema_version", value=str(s.SCHEMA_VERSION)))
                elif int(row[0]) != s.SCHEMA_VERSION:
                    raise StorageError(f"storage schema is v{row[0]}, this tunelab needs v{s.SCHEMA_VERSION}: "
                                       f"run `tunelab storage upgrade --storage {mask(self.url)}`")
        except DBAPIError as exc:
            first = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
            raise StorageError(f"{_url_field(self.url)}: cannot open {mask(self.url)!r}: {mask(first)}; "
                               f"check the URL, that the server runs, and that it is a tunelab database you may write to") from None
        except IntegrityError:
            self._check_schema()

    @classmethod
    def upgrade(cls, url: str) -> str:
        """Bring the schema at ``url`` to this tunelab's version, one step at a time.

        Returns:
            What was done, one line.

        Raises:
            StorageError: the schema is newer than this tunelab, or has no upgrade path.
        """
        engine = cls._connect(url)
        try:
            with engine.begin() as conn:
                row = conn.execute(select(s.meta.c.value).where(s.meta.c.key == "schema_version")).first()
                version = int(row[0]) if row else s.SCHEMA_VERSION
                if version > s.SCHEMA_VERSION:
                    raise StorageError(f"storage schema is v{version}, newer than this tunelab "
                                       f"(v{s.SCHEMA_VERSION}): upgrade tunelab")
                start = version
                while version < s.SCHEMA_VERSION:
                    step = _UPGRADES.get(version)
                    if step is None:
                        raise StorageError(f"storage schema v{version} has no upgrade path to "
                                           f"v{s.SCHEMA_VERSION}; export it with an older tunelab")
                    step(conn)
                    version += 1
                    conn.execute(update(s.meta).where(s.meta.c.key == "schema_version").values(value=str(version)))
        except DBAPIError as exc:
            first = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
            raise StorageError(f"{_url_field(url)}: cannot open {mask(url)!r}: {mask(first)}") from None
        finally:
            engine.dispose()
        if start == s.SCHEMA_VERSION:
            return f"storage schema is already v{s.SCHEMA_VERSION}"
        return f"storage schema upgraded from v{start} to v{s.SCHEMA_VERSION}"

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    # Experiments -------------------------------------------------------------------
    def create_experiment(self, name: str, spec: dict[str, Any], seed: int) -> Experiment:
        """Record a new experiment.

        Raises:
            UserError: the name is taken.
        """
        now = time.time()
        try:
            with self.engine.begin() as conn:
                result = conn.execute(insert(s.experiments).values(
                    name=name, status=RUNNING, spec=_json(spec), seed=seed, created=now, updated=now))
                new_id = result.inserted_primary_key[0]
        except IntegrityError:
            raise UserError(f"name: an experiment called {name!r} exists; run `tunelab resume {name}` "
                            f"to continue it, or choose another name") from None
        return self.experiment(new_id)

    def experiment(self, ref: str | int) -> Experiment:
        """The experiment with this id or name.

        Raises:
            StorageError: no such experiment.
        """
        table = s.experiments
        with self.engine.connect() as conn:
            row = None
            if isinstance(ref, int) or str(ref).isdigit():
                row = conn.execute(select(table).where(table.c.id == int(ref))).first()
            if row is None:
                row = conn.execute(select(table).where(table.c.name == str(ref))).first()
        if row is None:
            raise StorageError(f"experiment {ref!r} not found in {mask(self.url)}; `tunelab ls` lists them")
        return _experiment(row)

    def experiments(self) -> list[Experiment]:
        """Every experiment, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(s.experiments).order_by(s.experiments.c.id)).all()
        return [_experiment(r) for r in rows]

    def set_experiment_status(self, experiment_id: int, status: str, message: str | None = None) -> None:
        """Record the experiment's status and a message (why it stopped)."""
        with self.engine.begin() as conn:
            conn.execute(update(s.experiments).where(s.experiments.c.id == experiment_id)
                         .values(status=status, message=message, updated=time.time()))

    def job_counts(self, experiment_id: int) -> dict[str, int]:
        """Number of jobs per status."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(s.jobs.c.status, func.count()).where(s.jobs.c.experiment_id == experiment_id)
                                .group_by(s.jobs.c.status)).all()
        return {status: count for status, count in rows}

    # Jobs --------------------------------------------------------------------------
    def add_job(self, experiment_id: int, number: int, config: dict[str, Any], budget: float | None,
                info: dict[str, Any], parent_id: int | None = None) -> int:
        """Record a pending job and return its id; ``parent_id`` is the job whose checkpoint
        it starts from (population-based training)."""
        with self.engine.begin() as conn:
            result = conn.execute(insert(s.jobs).values(
                experiment_id=experiment_id, number=number, config=_json(config), budget=budget,
                status=PENDING, extra="{}", info=_json(info), created=time.time(), parent_id=parent_id))
            job_id = int(result.inserted_primary_key[0])
            _touch(conn, job_id)
            return job_id

    def start_attempt(self, job_id: int, number: int, resource: dict[str, Any], folder: str,
                      host: str | None = None) -> int:
        """Mark the job running and record a new attempt, the one that counts from now on;
        return the attempt id."""
        with self.engine.begin() as conn:
            result = conn.execute(insert(s.attempts).values(
                job_id=job_id, number=number, status=RUNNING, resource=_json(resource), folder=folder,
                started=time.time(), host=host))
            attempt_id = int(result.inserted_primary_key[0])
            conn.execute(update(s.jobs).where(s.jobs.c.id == job_id)
                         .values(status=RUNNING, error=None, attempt_id=attempt_id))
            _touch(conn, job_id)
            return attempt_id

    def attempt_started(self, attempt_id: int, host: str) -> None:
        """Record where (machine and worker) and when an attempt's trial started, once the
        executor knows: a Dask attempt may wait for a free slot after it was submitted."""
        with self.engine.begin() as conn:
            conn.execute(update(s.attempts).where(s.attempts.c.id == attempt_id)
                         .values(host=host[:255], started=time.time()))

    def add_intermediate(self, job_id: int, attempt_id: int, seq: int, step: int, value: float) -> bool:
        """Record the ``seq``-th intermediate value of an attempt, once.

        Returns:
            False when that report of that attempt was already recorded.
        """
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(s.intermediate).values(job_id=job_id, attempt_id=attempt_id, seq=seq, step=step,
                                                           value=value, time=time.time()))
                _touch(conn, job_id)
        except IntegrityError:
            return False
        return True

    def end_attempt(self, job_id: int, attempt_id: int, *, job_status: str, attempt_status: str,
                    value: float | None = None, extra: dict[str, float] | None = None,
                    objectives: dict[str, float] | None = None, error: str | None = None) -> bool:
        """Record how an attempt ended and the job's resulting state, in one transaction.

        ``objectives`` are every objective's value of a multi-objective experiment.

        Returns:
            False when a newer attempt of the job counts: the attempt's row is updated,
            the job is not.
        """
        now = time.time()
        values: dict[str, Any] = {"status": job_status, "error": error}
        if job_status in TERMINAL:
            values["ended"] = now
        if value is not None:
            values["value"] = _finite_or_none(value)
        if extra:
            values["extra"] = _json(_finite_values(extra))
        if objectives:
            values["objectives"] = _json(objectives)
        with self.engine.begin() as conn:
            conn.execute(update(s.attempts).where(s.attempts.c.id == attempt_id)
                         .values(status=attempt_status, ended=now, error=error))
            counts = conn.execute(update(s.jobs).where(s.jobs.c.id == job_id, s.jobs.c.attempt_id == attempt_id)
                                  .values(**values)).rowcount > 0
            _touch(conn, job_id)
        return counts

    def set_job(self, job_id: int, **values: Any) -> None:
        """Update plain job columns (``status``, ``error``, ``value``)."""
        if "extra" in values:
            values["extra"] = _json(_finite_values(values["extra"]))
        with self.engine.begin() as conn:
            conn.execute(update(s.jobs).where(s.jobs.c.id == job_id).values(**values))
            _touch(conn, job_id)

    def jobs(self, experiment_id: int, *, details: bool = True) -> list[Job]:
        """Every job of the experiment in proposal order, with attempts and intermediate values."""
        return self._jobs(s.jobs.c.experiment_id == experiment_id, details)

    def changes(self, experiment_id: int, after: int) -> tuple[int, list[Job]]:
        """The experiment's ``rev`` now, and the jobs changed since ``after`` (a former ``rev``):
        what a live view needs to catch up, at a cost that grows with the changes only."""
        with self.engine.connect() as conn:
            rev = conn.execute(select(s.experiments.c.rev).where(s.experiments.c.id == experiment_id)).scalar()
        if rev is None:
            raise StorageError(f"experiment {experiment_id!r} not found in {mask(self.url)}; `tunelab ls` lists them")
        changed = [] if rev <= after else self._jobs(
            (s.jobs.c.experiment_id == experiment_id) & (s.jobs.c.rev > after), True)
        return rev, changed

    def job(self, job_id: int) -> Job:
        """One job by id.

        Raises:
            StorageError: no such job.
        """
        found = self._jobs(s.jobs.c.id == job_id, True)
        if not found:
            raise StorageError(f"job {job_id} not found in {mask(self.url)}; `tunelab show EXP` lists the jobs")
        return found[0]

    def _jobs(self, where: Any, details: bool) -> list[Job]:
        with self.engine.connect() as conn:
            jobs = {r.id: _job(r) for r in conn.execute(select(s.jobs).where(where).order_by(s.jobs.c.number))}
            if details and jobs:
                self._add_details(conn, jobs, select(s.jobs.c.id).where(where))
        return list(jobs.values())

    @staticmethod
    def _add_details(conn: Connection, jobs: dict[int, Job], job_ids: Any) -> None:
        """Attempts and intermediate values of ``jobs``. Each query sees the database as it
        is then: a job that came to match ``job_ids`` after the jobs were read is skipped
        here (its ``rev`` brings it to the next :meth:`changes`)."""
        attempts: dict[int, Attempt] = {}
        for a in conn.execute(select(s.attempts).where(s.attempts.c.job_id.in_(job_ids))
                              .order_by(s.attempts.c.job_id, s.attempts.c.number)):
            if a.job_id not in jobs:
                continue
            attempts[a.id] = Attempt(a.id, a.number, a.status, json.loads(a.resource), a.folder, a.started,
                                     a.ended, a.error, a.host)
            jobs[a.job_id].attempts.append(attempts[a.id])
        rows = conn.execute(select(s.intermediate).where(s.intermediate.c.job_id.in_(job_ids))
                            .order_by(s.intermediate.c.job_id, s.intermediate.c.step, s.intermediate.c.id))
        for i in rows:
            job = jobs.get(i.job_id)
            if job is None:
                continue
            if i.attempt_id in attempts:
                attempts[i.attempt_id].intermediate.append((i.step, i.value))
            if i.attempt_id is None or i.attempt_id == job.attempt_id:
                job.intermediate.append((i.step, i.value))

    # Ownership -----------------------------------------------------------------------
    def claim(self, experiment_id: int, owner: str, is_stale: Callable[[str, float], bool]) -> Experiment | None:
        """Make ``owner`` the engine of the experiment unless another live engine is.

        Args:
            is_stale: tells from another owner's name and the age of its last beat
                whether it is gone.

        Returns:
            None when claimed, else the experiment as its live owner left it.
        """
        table = s.experiments
        now = time.time()
        seen = self.experiment(experiment_id)
        if seen.owner not in (None, owner) and not is_stale(seen.owner, now - (seen.beat or 0.0)):
            return seen
        unchanged = (table.c.owner.is_(None) if seen.owner is None
                     else (table.c.owner == seen.owner) & (table.c.beat == seen.beat))
        with self.engine.begin() as conn:
            taken = conn.execute(update(table).where(table.c.id == experiment_id, unchanged)
                                 .values(owner=owner, beat=now)).rowcount
        return None if taken else self.experiment(experiment_id)

    def beat(self, experiment_id: int, owner: str) -> None:
        """Say that ``owner`` is alive and still running the experiment."""
        with self.engine.begin() as conn:
            conn.execute(update(s.experiments).where(s.experiments.c.id == experiment_id,
                                                     s.experiments.c.owner == owner).values(beat=time.time()))

    def release(self, experiment_id: int, owner: str) -> None:
        """``owner`` no longer runs the experiment."""
        with self.engine.begin() as conn:
            conn.execute(update(s.experiments).where(s.experiments.c.id == experiment_id,
                                                     s.experiments.c.owner == owner).values(owner=None, beat=None))


def _upgrade_1_to_2(conn: Connection) -> None:
    """Per-attempt intermediate values, the job's counting attempt, change counters, the
    engine's owner and heartbeat, attempt hosts, the request inbox, and room for several
    objectives and a parent per job."""
    added = {
        s.experiments: ("rev", "owner", "beat"),
        s.jobs: ("attempt_id", "rev", "objectives", "parent_id"),
        s.attempts: ("host",),
        s.intermediate: ("attempt_id", "seq"),
    }
    for table, names in added.items():
        for name in names:
            column = table.c[name]
            ddl = f"ALTER TABLE {table.name} ADD COLUMN {name} {column.type.compile(conn.dialect)}"
            if column.server_default is not None:
                ddl += f" DEFAULT {column.server_default.arg} NOT NULL"
            conn.exec_driver_sql(ddl)
    if conn.dialect.name == "mysql":
        _widen_mysql_floats(conn)
    for index in (*s.jobs.indexes, *s.intermediate.indexes):
        if index.name in ("ix_jobs_rev", "uq_intermediate_attempt_seq"):
            index.create(conn)
    s.requests.create(conn)
    latest = (select(func.max(s.attempts.c.id)).where(s.attempts.c.job_id == s.jobs.c.id).scalar_subquery())
    conn.execute(update(s.jobs).values(attempt_id=latest))


def _widen_mysql_floats(conn: Connection) -> None:
    """v1 stored reals as MySQL's single-precision FLOAT: make them doubles."""
    for table in (s.experiments, s.jobs, s.attempts, s.intermediate):
        for column in table.columns:
            if isinstance(column.type, Double):
                null = "NULL" if column.nullable else "NOT NULL"
                conn.exec_driver_sql(f"ALTER TABLE {table.name} MODIFY {column.name} DOUBLE {null}")


_UPGRADES: dict[int, Callable[[Connection], None]] = {1: _upgrade_1_to_2}
"""Schema upgrade steps: ``_UPGRADES[v]`` turns a v schema into v+1."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
