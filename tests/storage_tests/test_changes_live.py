"""``Storage.changes`` read while the engine writes: each of its queries sees the database
as it is then, and a job that changes in between must not break the read."""

from __future__ import annotations

import threading
import time

from tunelab.storage import Storage


def test_changes_while_jobs_start_concurrently(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    writer, reader = Storage(url), Storage(url)
    exp = writer.create_experiment("busy", {}, 0)
    done = threading.Event()

    def write() -> None:
        number = 0
        while not done.is_set():
            job = writer.add_job(exp.id, number, {"x": number}, None, {})
            attempt = writer.start_attempt(job, 1, {"slot": 0}, str(tmp_path))
            writer.add_intermediate(job, attempt, 0, 0, 1.0)
            number += 1

    thread = threading.Thread(target=write)
    thread.start()
    seen, reads, end = {}, 0, time.monotonic() + 2.0
    try:
        rev = 0
        while time.monotonic() < end:
            rev, changed = reader.changes(exp.id, max(0, rev - 3))
            seen.update((j.id, j) for j in changed)
            reads += 1
    finally:
        done.set()
        thread.join()
    rev, changed = reader.changes(exp.id, rev)
    seen.update((j.id, j) for j in changed)
    assert reads > 10 and len(seen) == len(writer.jobs(exp.id))
    assert all(j.attempts and j.intermediate == [(0, 1.0)] for j in seen.values() if j.status == "running")
    writer.close()
    reader.close()
