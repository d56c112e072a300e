"""Runs function trials in persistent worker processes (real parallelism, no pickle)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tunelab.exceptions import UserError
from tunelab.executors import _parent_death as parent_death
from tunelab.executors._base import Launch, ProcessExecutor, kill_group

KEPT_ENV = ("CUDA_VISIBLE_DEVICES",)
"""Variables of a launch's environment that a worker process must have from its start
(CUDA reads them once); the rest are set around each call."""


def function_ref(fn: Callable[..., Any] | str) -> str:
    """``module:qualname`` for a top-level function (``path.py:name`` for ``__main__``).

    Raises:
        UserError: the function cannot be imported by a worker (a lambda or closure).
    """
    if isinstance(fn, str):
        return fn
    qualname = getattr(fn, "__qualname__", "")
    module = getattr(fn, "__module__", None)
    if not module or "<" in qualname:
        raise UserError(f"objective: {fn!r} must be a top-level function (workers import it by name); "
                        f"move it to module level")
    if module == "__main__":
        main_file = getattr(sys.modules["__main__"], "__file__", None)
        if not main_file:
            raise UserError("objective: functions defined in an interactive session cannot run in workers; "
                            "put the objective in a .py file and import it")
        return f"{os.path.abspath(main_file)}:{qualname}"
    return f"{module}:{qualname}"


@dataclass
class _Worker:
    proc: subprocess.Popen
    key: int | None = None
    buffer: str = ""
    answers: list[dict[str, Any]] = field(default_factory=list)


class FunctionExecutor(ProcessExecutor):
    """Calls ``objective(config)`` in ``n_workers`` worker processes, each kept for the
    next attempts (started in the launch's working folder, which goes first on its path).

    A worker that hangs past the job's timeout is killed and replaced.

    Args:
        objective: a top-level function or a ``module:qualname`` reference.
        n_workers: number of worker processes.
        die_with_parent: worker processes get SIGKILL when the thread that started them
            dies (as :class:`~tunelab.executors.local.ScriptExecutor`'s, on a Dask worker).
    """

    def __init__(self, objective: Callable[..., Any] | str, n_workers: int, grace_period: float = 5.0, *,
                 die_with_parent: bool = False) -> None:
        super().__init__(grace_period)
        self.ref = function_ref(objective)
        self.n_workers = n_workers
        self.die_with_parent = die_with_parent
        self._workers: list[_Worker] = []
        self._by_key: dict[int, _Worker] = {}

    def _spawn(self, launch: Launch) -> _Worker:
        cwd = os.path.abspath(launch.cwd)
        env = {**os.environ, **{k: v for k, v in launch.env.items() if k in KEPT_ENV},
               "PYTHONPATH": os.pathsep.join(filter(None, [cwd, os.getcwd(), *sys.path]))}
        argv, preexec = [sys.executable, "-m", "tunelab.executors._worker", self.ref], None
        if self.die_with_parent:
            argv, preexec = parent_death.start_args(argv, cwd, env.get("PATH"))
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                start_new_session=True, preexec_fn=preexec)
        answer = json.loads(proc.stdout.readline() or b'{"ready": false, "error": "worker died at start"}')
        if not answer.get("ready"):
            proc.kill()
            raise UserError(f"objective: {answer.get('error')}")
        os.set_blocking(proc.stdout.fileno(), False)
        worker = _Worker(proc)
        self._workers.append(worker)
        return worker

    def _launch(self, launch: Launch) -> int:
        idle = [w for w in self._workers if w.key is None and w.proc.poll() is None]
        worker = idle[0] if idle else self._spawn(launch)
        request = {"key": launch.key, "config": launch.config, "env": launch.env, "folder": str(launch.folder)}
        worker.proc.stdin.write((json.dumps(request) + "\n").encode())
        worker.proc.stdin.flush()
        worker.key = launch.key
        self._by_key[launch.key] = worker
        return worker.proc.pid

    def _read(self, worker: _Worker) -> None:
        try:
            chunk = os.read(worker.proc.stdout.fileno(), 1 << 16)
        except (BlockingIOError, OSError, ValueError):
            chunk = b""
        if chunk:
            worker.buffer += chunk.decode()
            *lines, worker.buffer = worker.buffer.split("\n")
            worker.answers += [json.loads(line) for line in lines if line.strip()]

    def _exited(self, key: int) -> int | str | None:
        worker = self._by_key[key]
        self._read(worker)
        answer = next((a for a in worker.answers if a.get("key") == key), None)
        if answer is None and worker.proc.poll() is None:
            return None
        del self._by_key[key]
        worker.key = None
        if answer is not None:
            worker.answers.remove(answer)
            return 0 if answer["error"] is None else answer["error"]
        self._workers.remove(worker)
        code = worker.proc.returncode
        return f"worker process died (exit code {code})" if code and code > 0 else f"killed by signal {-(code or 0)}"

    def _signal(self, key: int, sig: int) -> None:
        worker = self._by_key.get(key)
        if worker is not None:
            kill_group(worker.proc.pid, sig)

    def _wait(self, seconds: float) -> None:
        pipes = [w.proc.stdout for w in self._by_key.values()]
        if pipes:
            select.select(pipes, [], [], max(min(seconds, 0.05), 0.0))
        else:
            super()._wait(seconds)

    def shutdown(self) -> None:
        super().shutdown()
        for worker in self._workers:
            if worker.proc.stdin:
                worker.proc.stdin.close()
            try:
                worker.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                kill_group(worker.proc.pid, 9)
        self._workers.clear()

