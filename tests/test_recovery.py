"""What ``resume`` keeps of an attempt its coordinator left running, and whose curve a
retried job shows (its counting attempt's only)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from tests.conftest import show, tunelab, write
from tunelab import api
from tunelab import storage as st
from tunelab._reports import ReportStream
from tunelab.executors import salvage
from tunelab.stoppers import Decision


def _line(kind: str, **fields: float) -> str:
    return json.dumps({"kind": kind, **fields}) + "\n"


def test_live_reading_and_salvage_number_reports_alike(tmp_path):
    live = ReportStream(tmp_path)
    seen = []
    chunks = [("events.jsonl", _line("intermediate", step=0, value=1.0)[:9]),
              ("stdout", "epoch 1\n#tunelab:" + _line("intermediate", step=1, value=2.0)),
              ("events.jsonl", _line("intermediate", step=0, value=1.0)[9:]),
              ("stderr", "#Auptimizer:0.5\n"),
              ("events.jsonl", _line("intermediate", step=2, value=3.0) + _line("final", value=3.0)
               + _line("final", value=9.0)[:12])]  # the last line cut short by a kill
    for name, text in chunks:
        with open(tmp_path / name, "a", encoding="utf-8") as handle:
            handle.write(text)
        seen += live.read()
    found = salvage(tmp_path)
    assert [(n.seq, n.report.step) for n in seen if n.report.kind == "intermediate"] == [(1, 1), (0, 0), (3, 2)]
    assert sorted((n.seq, n.report.step) for n in found.intermediate) == [(0, 0), (1, 1), (3, 2)]
    assert found.final.report.value == 3.0  # the trial API's final outranks a printed one, live too
    assert [n.seq for n in live.read(at_end=True)] == [] and live.bad_report is None


def test_resume_records_every_step_once_and_kills_the_leftover_trial(workdir):
    write(workdir / "train.py", "raise SystemExit('never run: the job finished while the coordinator was dead')\n")
    storage = st.Storage(f"sqlite:///{workdir / 'db.sqlite'}")
    api.create({"name": "dead", "script": "train.py", "n_samples": 1,
                "parameter_config": [{"name": "x", "range": [0, 1]}]}, storage)
    experiment = storage.experiment("dead")
    job_id = storage.add_job(experiment.id, 0, {"x": 0.5}, None, {})
    folder = workdir / "attempt-1"
    folder.mkdir()
    attempt_id = storage.start_attempt(job_id, 1, {"slot": 0}, str(folder))
    (folder / "events.jsonl").write_text(_line("intermediate", step=0, value=3.0) + _line("intermediate", step=2,
                                         value=1.0) + _line("final", value=0.5, extra={"acc": 0.9}))
    (folder / "stdout").write_text("#tunelab:" + _line("intermediate", step=1, value=2.0))
    assert storage.add_intermediate(job_id, attempt_id, 0, 0, 3.0)  # what the live engine had recorded
    leftover = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True,
                                env={**os.environ, "TUNELAB_REPORT_FILE": str(folder / "events.jsonl")})
    storage.close()
    out = tunelab("resume", "dead", "--storage", f"sqlite:///{workdir / 'db.sqlite'}")
    assert out.returncode == 0, out.stderr
    assert leftover.wait(timeout=5) == -signal.SIGKILL
    job = show("dead", f"sqlite:///{workdir / 'db.sqlite'}")["jobs"][0]
    assert job["status"] == "finished" and job["result"] == 0.5 and job["extra_results"] == {"acc": 0.9}
    assert job["intermediate"] == [[0, 3.0], [1, 2.0], [2, 1.0]] and job["intermediate_attempt"] == 1
    assert len(job["attempts"]) == 1


RETRIED = """
import os, sys, time
from pathlib import Path
from tunelab import trial
config = trial.load_config()
marker = Path(f"tried-{os.environ['TUNELAB_JOB_ID']}")
first = not marker.exists()
marker.touch()
for step in range(2 if first else 3):
    trial.report_intermediate(config["x"] + step, step=step)
    time.sleep(0.05)
if first:
    sys.exit(1)
trial.report(config["x"])
"""


class _Recorder:
    """A stopper that never stops and remembers each curve it was shown."""

    def __init__(self) -> None:
        self.seen: dict[int, list[int]] = {}

    def decide(self, job, history):
        self.seen.setdefault(job.number, []).append(len(job.intermediate))
        return Decision.CONTINUE


def test_a_retried_job_shows_the_new_attempts_curve_only(workdir):
    write(workdir / "train.py", RETRIED)
    url = f"sqlite:///{workdir / 'db.sqlite'}"
    storage = st.Storage(url)
    api.create({"name": "retry", "script": "train.py", "n_samples": 2, "n_parallel": 2,
                "job_failure": {"job_retries": 1}, "parameter_config": [{"name": "x", "range": [0, 1]}]}, storage)
    engine = api.build_engine(storage, "retry")
    engine.stopper = recorder = _Recorder()
    assert engine.run().status == st.FINISHED
    assert recorder.seen == {0: [1, 2, 1, 2, 3], 1: [1, 2, 1, 2, 3]}
    frame = api.load("retry", storage=url).dataframe()
    storage.close()
    assert list(frame["intermediate_attempt"]) == [2, 2]
    for job in show("retry", url)["jobs"]:
        first, second = job["attempts"]
        assert [s for s, _ in first["intermediate"]] == [0, 1] and first["status"] == "failed"
        assert job["intermediate"] == second["intermediate"] and [s for s, _ in job["intermediate"]] == [0, 1, 2]
        assert job["intermediate_attempt"] == 2
