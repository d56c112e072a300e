"""Tables of tunelab's storage, written for SQLite, PostgreSQL and MySQL alike."""

from __future__ import annotations

from sqlalchemy import Column, Double, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

SCHEMA_VERSION = 2
"""Bump with every schema change and add an upgrade step in ``_store.py``."""

metadata = MetaData()
# Every real number is a double: MySQL's FLOAT has 24 bits, which rounds results and
# timestamps (to about two minutes); v1 databases on MySQL are converted by the upgrade.

meta = Table(
    "tunelab_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

experiments = Table(
    "experiments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("status", String(32), nullable=False),
    Column("spec", Text, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("created", Double, nullable=False),
    Column("updated", Double, nullable=False),
    Column("message", Text),
    Column("rev", Integer, nullable=False, default=0, server_default="0"),
    Column("owner", String(255)),
    Column("beat", Double),
    UniqueConstraint("name", name="uq_experiment_name"),
)
"""``rev`` counts the changes to the experiment's jobs (the dashboard's cursor); ``owner``
and ``beat`` name the engine running it and when it was last alive."""

jobs = Table(
    "jobs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("config", Text, nullable=False),
    Column("budget", Double),
    Column("status", String(32), nullable=False),
    Column("value", Double),
    Column("extra", Text, nullable=False, default="{}"),
    Column("info", Text, nullable=False, default="{}"),
    Column("error", Text),
    Column("created", Double, nullable=False),
    Column("ended", Double),
    Column("attempt_id", Integer),
    Column("rev", Integer, nullable=False, default=0, server_default="0"),
    Column("objectives", Text),
    Column("parent_id", Integer),
    UniqueConstraint("experiment_id", "number", name="uq_job_number"),
    Index("ix_jobs_rev", "experiment_id", "rev"),
)
"""``attempt_id`` is the attempt whose outcome counts (the latest): an older attempt's late
result never overwrites it. ``rev`` is the experiment's ``rev`` at the job's last change.
``objectives`` holds every objective's value (JSON, name to value) when the experiment has
several; ``parent_id`` is the job whose checkpoint a population-based job started from."""

attempts = Table(
    "attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("resource", Text, nullable=False, default="{}"),
    Column("folder", Text),
    Column("started", Double, nullable=False),
    Column("ended", Double),
    Column("error", Text),
    Column("host", String(255)),
    Index("ix_attempts_job", "job_id"),
)

intermediate = Table(
    "intermediate", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("step", Integer, nullable=False),
    Column("value", Double, nullable=False),
    Column("time", Double, nullable=False),
    Column("attempt_id", Integer),
    Column("seq", Integer),
    Index("ix_intermediate_job", "job_id", "step"),
    Index("uq_intermediate_attempt_seq", "attempt_id", "seq", unique=True),
)
"""Intermediate values per attempt; ``seq`` is the report's place in the attempt's stream,
so recording one twice (a recovery after a crash) is refused by the unique index. Rows of a
v1 database have neither and belong to their job as a whole."""

requests = Table(
    "requests", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("target", Integer),
    Column("payload", Text, nullable=False, default="{}"),
    Column("created", Double, nullable=False),
    Column("handled", Double),
    Column("outcome", Text),
    Index("ix_requests_open", "experiment_id", "handled"),
)
"""The inbox: what the CLI and the dashboard ask of a running engine (stop a job, stop the
experiment). The engine takes open rows each tick and records the outcome."""
