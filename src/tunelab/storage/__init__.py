"""Where experiments, jobs, attempts and results are recorded."""

from tunelab.storage._inbox import SCORE_JOB, STOP_EXPERIMENT, STOP_JOB, Inbox, Request
from tunelab.storage._store import (
    CANCELLED,
    FAILED,
    FINISHED,
    LOST,
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
    "LOST",
    "PENDING",
    "RUNNING",
    "SCORE_JOB",
    "STOPPED",
    "STOP_EXPERIMENT",
    "STOP_JOB",
    "STORAGE_ENV",
    "TERMINAL",
    "Attempt",
    "Experiment",
    "Inbox",
    "Job",
    "Request",
    "Storage",
    "default_url",
]
