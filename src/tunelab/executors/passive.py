"""The ``passive`` resource: tunelab prints each job, the user runs it and enters the score.

Scores come from the terminal prompt (``<value>`` answers the oldest waiting job,
``<job id> <value>`` any job), or from ``tunelab report EXP JOB VALUE`` and the dashboard,
which ask the engine through the request inbox. Either way the score is appended to the
attempt's ``events.jsonl`` and read back like any script's report.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from tunelab import _protocol as protocol
from tunelab.executors._base import Launch, ProcessExecutor


def write_result(folder: Path, value: float) -> None:
    """Record a final value for the attempt in ``folder``."""
    with open(folder / "events.jsonl", "a", encoding="utf-8") as handle:
        handle.write(protocol.Report("final", value=float(value)).to_json() + "\n")


class PassiveExecutor(ProcessExecutor):
    """Waits for the user to run each job and give its score."""

    def __init__(self, prompt: bool | None = None) -> None:
        super().__init__(grace_period=0.0)
        self._folders: dict[int, Path] = {}
        self._job_ids: dict[str, int] = {}
        self._prompt = sys.stdin.isatty() if prompt is None else prompt
        self._reader: threading.Thread | None = None

    def _launch(self, launch: Launch) -> None:
        self._folders[launch.key] = launch.folder
        job_id = launch.env.get(protocol.ENV_JOB_ID, str(launch.key))
        self._job_ids[job_id] = launch.key
        print(f"job {job_id}: config {launch.folder / 'config.json'}\n  {launch.config}\n"
              f"  enter the score here as `{job_id} <value>`, or run "
              f"`tunelab report {launch.env.get(protocol.ENV_EXPERIMENT, 'EXP')} {job_id} -- <value>`", flush=True)
        if self._prompt and self._reader is None:
            self._reader = threading.Thread(target=self._read_prompt, daemon=True)
            self._reader.start()
        return None

    def _read_prompt(self) -> None:
        for line in sys.stdin:
            parts = line.split()
            try:
                if len(parts) == 1 and self._folders:
                    write_result(self._folders[min(self._folders)], float(parts[0]))
                elif len(parts) == 2 and parts[0] in self._job_ids:
                    write_result(self._folders[self._job_ids[parts[0]]], float(parts[1]))
                else:
                    print("enter `<value>` or `<job id> <value>`", flush=True)
            except (ValueError, KeyError):
                print(f"not a score: {line.strip()!r}; enter a number", flush=True)

    def take_score(self, key: int, value: float) -> bool:
        """Record the score of a waiting job (sent by ``tunelab report`` or the dashboard)."""
        folder = self._folders.get(key)
        if folder is None:
            return False
        write_result(folder, value)
        return True

    def _exited(self, key: int) -> int | None:
        folder = self._folders[key]
        path = folder / "events.jsonl"
        if path.is_file() and any('"final"' in line for line in path.read_text(encoding="utf-8").splitlines()):
            del self._folders[key]
            return 0
        return None

    def _signal(self, key: int, sig: int) -> None:
        self._folders.pop(key, None)

    def _wait(self, seconds: float) -> None:
        import time

        time.sleep(min(max(seconds, 0.0), 0.2))
