"""Tables of tunelab's storage, written for SQLite, PostgreSQL and MySQL alike."""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

SCHEMA_VERSION = 1
"""Bump with every schema change and add an upgrade step in ``_store.py``."""

metadata = MetaData()

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
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("message", Text),
    UniqueConstraint("name", name="uq_experiment_name"),
)

jobs = Table(
    "jobs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("config", Text, nullable=False),
    Column("budget", Float),
    Column("status", String(32), nullable=False),
    Column("value", Float),
    Column("extra", Text, nullable=False, default="{}"),
    Column("info", Text, nullable=False, default="{}"),
    Column("error", Text),
    Column("created", Float, nullable=False),
    Column("ended", Float),
    UniqueConstraint("experiment_id", "number", name="uq_job_number"),
)

attempts = Table(
    "attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("resource", Text, nullable=False, default="{}"),
    Column("folder", Text),
    Column("started", Float, nullable=False),
    Column("ended", Float),
    Column("error", Text),
    Index("ix_attempts_job", "job_id"),
)

intermediate = Table(
    "intermediate", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("step", Integer, nullable=False),
    Column("value", Float, nullable=False),
    Column("time", Float, nullable=False),
    Index("ix_intermediate_job", "job_id", "step"),
)
