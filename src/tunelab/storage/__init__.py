"""Where experiments, jobs, attempts and results are recorded."""

from tunelab.storage._store import (
    CANCELLED,
    FAILED,
    FINISHED,
    PENDING,
    RUNNING,
    STOPPED,
    STORAGE_ENV,
    TERMINAL,
    Attempt,
    Experiment,
    Job,
    Storage,
    default_url,
)

__all__ = [
    "CANCELLED",
    "FAILED",
    "FINISHED",
    "PENDING",
    "RUNNING",
    "STOPPED",
    "STORAGE_ENV",
    "TERMINAL",
    "Attempt",
    "Experiment",
    "Job",
    "Storage",
    "default_url",
]
