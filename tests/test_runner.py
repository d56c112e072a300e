"""The runner beside each trial: `python -m tunelab.runner` on a real trial process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tunelab.executors import Launch
from tunelab.runner import event_from_dict, launch_from_dict, launch_to_dict

REPORTING = """
import json, sys, time
from tunelab import trial
for step in range(3):
    trial.report_intermediate(step * 0.5, step=step)
print("#tunelab:" + json.dumps({"kind": "final", "value": 7.5}))
"""

SLEEPER = """
import os, time
open("trial.pid", "w").write(str(os.getpid()))
time.sleep(120)
"""


def _start(tmp_path: Path, code: str, **fields: object) -> subprocess.Popen:
    (tmp_path / "t.py").write_text(code)
    launch = Launch(key=4, config={"x": 1}, folder=tmp_path / "attempt-1", argv=[sys.executable, "t.py"],
                    cwd=str(tmp_path), **fields)
    proc = subprocess.Popen([sys.executable, "-m", "tunelab.runner"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    proc.stdin.write(json.dumps(launch_to_dict(launch, grace_period=0.5)) + "\n")
    proc.stdin.flush()
    return proc


def _events(proc: subprocess.Popen) -> list:
    """The runner's events up to its exit event (its stdin stays open until then)."""
    events = []
    while not events or events[-1].kind != "exit":
        line = proc.stdout.readline()
        assert line, f"the runner ended without an exit event after {events}"
        events.append(event_from_dict(json.loads(line)))
    if not proc.stdin.closed:
        proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    return events


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _wait_for(path: Path) -> int:
    end = time.monotonic() + 30
    while not path.is_file() or not path.read_text():
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.05)
    return int(path.read_text())


def test_runner_streams_started_reports_and_exit_in_order(tmp_path):
    proc = _start(tmp_path, REPORTING)
    events = _events(proc)
    assert [e.kind for e in events] == ["started", "report", "report", "report", "report", "exit"]
    assert events[0].host and all(e.key == 4 for e in events)
    assert [(e.report.step, e.report.value) for e in events[1:4]] == [(0, 0.0), (1, 0.5), (2, 1.0)]
    assert events[4].report.kind == "final" and events[4].report.value == 7.5
    assert len({e.report_seq for e in events[1:5]}) == 4
    assert events[-1].error is None
    assert json.loads((tmp_path / "attempt-1" / "config.json").read_text()) == {"x": 1}


def test_stop_line_stops_the_trial_and_end_of_input_too(tmp_path):
    for how in ("stop", "eof"):
        folder = tmp_path / how
        folder.mkdir()
        proc = _start(folder, SLEEPER)
        pid = _wait_for(folder / "trial.pid")
        if how == "stop":
            proc.stdin.write("stop\n")
            proc.stdin.flush()
        else:
            proc.stdin.close()
        events = _events(proc)
        assert events[-1].kind == "exit"
        assert not _alive(pid)


def test_timeout_is_enforced_by_the_runner(tmp_path):
    proc = _start(tmp_path, SLEEPER, timeout=0.5)
    events = _events(proc)
    assert events[-1].error.startswith("timeout")


def test_killed_runner_leaves_no_orphan_trial(tmp_path):
    for sig in (signal.SIGKILL, signal.SIGTERM):
        folder = tmp_path / str(int(sig))
        folder.mkdir()
        proc = _start(folder, SLEEPER)
        pid = _wait_for(folder / "trial.pid")
        proc.send_signal(sig)
        proc.wait(timeout=30)
        end = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < end:
            time.sleep(0.05)
        assert not _alive(pid), f"trial survived its runner killed by {sig!r}"


def test_runner_stops_its_trial_when_its_own_parent_dies(tmp_path):
    (tmp_path / "t.py").write_text(SLEEPER)
    launch = Launch(key=1, config={}, folder=tmp_path / "a", argv=[sys.executable, "t.py"], cwd=str(tmp_path))
    parent_code = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-m', 'tunelab.runner'], stdin=subprocess.PIPE)\n"
        f"p.stdin.write({json.dumps(launch_to_dict(launch, 0.5))!r}.encode() + b'\\n'); p.stdin.flush()\n"
        "time.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", parent_code])
    pid = _wait_for(tmp_path / "trial.pid")
    parent.kill()
    parent.wait()
    end = time.monotonic() + 15
    while _alive(pid) and time.monotonic() < end:
        time.sleep(0.05)
    assert not _alive(pid)


def test_runner_reads_tracked_auptimizer_lines_as_steps(tmp_path):
    code = "for v in (3, 2, 1):\n    print(f'#Auptimizer:{v}', flush=True)\n"
    events = _events(_start(tmp_path, code, track=True))
    reports = [(e.report.kind, e.report.step, e.report.value) for e in events if e.kind == "report"]
    assert [r for r in reports if r[0] == "intermediate"] == [("intermediate", 1, 3.0), ("intermediate", 2, 2.0),
                                                               ("intermediate", 3, 1.0)]
    assert reports[-1] == ("final", None, 1.0)


def test_runner_reports_a_trial_that_cannot_start_as_its_exit(tmp_path):
    (tmp_path / "t.py").write_text("")
    launch = Launch(key=4, config={}, folder=tmp_path / "attempt-1", argv=["./t.py"], cwd=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "tunelab.runner"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    proc.stdin.write(json.dumps(launch_to_dict(launch, grace_period=0.5)) + "\n")
    proc.stdin.flush()
    events = _events(proc)
    assert [e.kind for e in events] == ["exit"]
    assert events[0].error == "cannot start: ./t.py: permission denied; make it executable with `chmod +x ./t.py`"


def test_every_field_of_a_launch_travels_to_the_runner(tmp_path):
    launch = Launch(key=9, config={"lr": 0.1}, folder=tmp_path / "a", argv=["prog", "x"], cwd="/w",
                    env={"A": "1"}, timeout=3.5, labels=["acc"], track=True)
    assert launch_from_dict(json.loads(json.dumps(launch_to_dict(launch, 2.0)))) == (launch, 2.0)
