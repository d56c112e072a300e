"""Runs each attempt as a child process of its own (a script, from an argv list)."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess

from tunelab.executors import _parent_death as parent_death
from tunelab.executors._base import Launch, ProcessExecutor, kill_group


class ScriptExecutor(ProcessExecutor):
    """Starts ``launch.argv`` in a new session (its own process group), never via a shell.

    stdout and stderr go straight to files in the attempt's folder; reports are read
    from there and from ``events.jsonl``. Exits are noticed at once through pidfds.

    Args:
        grace_period: seconds between the stop request, SIGTERM and SIGKILL.
        die_with_parent: the trial gets SIGKILL when the thread that started it dies (Linux
            ``PR_SET_PDEATHSIG``), so a Dask worker killed mid-attempt leaves no orphan.
            Off for the coordinator itself, whose trials ``resume`` can still salvage.

    Example:
        >>> executor = ScriptExecutor()
        >>> # executor.submit(Launch(key=1, config={"x": 1}, folder=Path("job"), argv=["python", "t.py"]))
    """

    def __init__(self, grace_period: float = 5.0, *, die_with_parent: bool = False) -> None:
        super().__init__(grace_period)
        self.die_with_parent = die_with_parent
        self._procs: dict[int, subprocess.Popen] = {}
        self._pidfds: dict[int, int] = {}

    def _launch(self, launch: Launch) -> int:
        env = {**os.environ, **launch.env}
        argv, preexec = launch.argv, None
        if self.die_with_parent:
            argv, preexec = parent_death.start_args(launch.argv, launch.cwd, env.get("PATH"))
        with open(launch.folder / "stdout", "ab") as out, open(launch.folder / "stderr", "ab") as err:
            proc = subprocess.Popen(argv, cwd=launch.cwd, env=env, stdout=out, stderr=err,
                                    stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=preexec)
        self._procs[launch.key] = proc
        if hasattr(os, "pidfd_open"):
            with contextlib.suppress(OSError):
                self._pidfds[launch.key] = os.pidfd_open(proc.pid)
        return proc.pid

    def _exited(self, key: int) -> int | None:
        proc = self._procs[key]
        code = proc.poll()
        if code is not None:
            del self._procs[key]
            fd = self._pidfds.pop(key, None)
            if fd is not None:
                os.close(fd)
        return code

    def _signal(self, key: int, sig: int) -> None:
        proc = self._procs.get(key)
        if proc is not None:
            kill_group(proc.pid, sig)

    def _wait(self, seconds: float) -> None:
        if not self._pidfds or len(self._pidfds) != len(self._procs):
            super()._wait(seconds)
            return
        select.select(list(self._pidfds.values()), [], [], max(min(seconds, 0.05), 0.0))
