"""The exception tree of tunelab.

Branches are grouped by what the caller does next:

* :class:`UserError`: the user gave bad input (a file, a flag, a value). The CLI prints
  its one-line message and exits with code 2; nothing recorded is touched.
* :class:`StorageError`: the database cannot be used as asked (wrong schema version,
  unknown experiment). Also a user-facing one-liner.
* :class:`ExecutorError`: a resource could not run a job; the engine retries elsewhere.
* :class:`JobFailed`: a job's own failure. It is recorded on the job and never raised
  into the engine loop.
"""

from __future__ import annotations


class TunelabError(Exception):
    """Base of every error tunelab raises on purpose."""


class UserError(TunelabError):
    """Bad input from the user: one line naming the field, the value and the fix."""


class SpecError(UserError):
    """An experiment file or spec is invalid; carries every problem found.

    Args:
        problems: one line per problem, each naming the field, the value and the fix.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class StorageError(UserError):
    """The storage cannot be used as asked (unknown experiment, incompatible schema)."""


class ExecutorError(TunelabError):
    """A resource failed to run a job; the job may be retried."""


class JobFailed(TunelabError):
    """A job failed; the reason is recorded on its attempt."""
