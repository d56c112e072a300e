"""The runner beside each trial (what a Dask task calls on its worker), on real trial processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tunelab.executors import Launch
from tunelab.runner import event_from_dict, event_to_dict, launch_from_dict, launch_to_dict, run

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


def _launch(tmp_path: Path, code: str, **fields: object) -> Launch:
    (tmp_path / "t.py").write_text(code)
    return Launch(key=4, config={"x": 1}, folder=tmp_path / "attempt-1", argv=[sys.executable, "t.py"],
                  cwd=str(tmp_path), **fields)


def _run(launch: Launch, stop_wanted=lambda: False) -> list:
    """Every event of the attempt, the exit last, each through its wire form."""
    batches = []
    end = run(launch, 0.5, batches.append, stop_wanted, host="here")
    assert batches[-1][-1] is end, "the exit ends the last batch"
    return [event_from_dict(json.loads(json.dumps(event_to_dict(e)))) for batch in batches for e in batch]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _wait_for(path: Path) -> int:
    end = time.monotonic() + 30
    while not path.is_file() or not path.read_text():
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.05)
    return int(path.read_text())


def test_runner_streams_started_reports_and_exit_in_order(tmp_path):
    events = _run(_launch(tmp_path, REPORTING))
    assert [e.kind for e in events] == ["started", "report", "report", "report", "report", "exit"]
    assert events[0].host == "here" and all(e.key == 4 for e in events)
    assert [(e.report.step, e.report.value) for e in events[1:4]] == [(0, 0.0), (1, 0.5), (2, 1.0)]
    assert events[4].report.kind == "final" and events[4].report.value == 7.5
    assert len({e.report_seq for e in events[1:5]}) == 4
    assert events[-1].error is None
    assert json.loads((tmp_path / "attempt-1" / "config.json").read_text()) == {"x": 1}


def test_a_wanted_stop_stops_the_trial(tmp_path):
    launch = _launch(tmp_path, SLEEPER)
    events = _run(launch, stop_wanted=lambda: (tmp_path / "trial.pid").is_file())
    assert events[-1].kind == "exit"
    assert (launch.folder / "STOP").is_file(), "the stop sequence starts with the stop file"
    assert not _alive(int((tmp_path / "trial.pid").read_text()))


def test_timeout_is_enforced_by_the_runner(tmp_path):
    events = _run(_launch(tmp_path, SLEEPER, timeout=0.5))
    assert events[-1].error.startswith("timeout")


@pytest.mark.parametrize("setpriv", [True, False], ids=["through setpriv", "through prctl in the child"])
def test_the_trial_dies_with_the_process_running_it_from_a_thread(tmp_path, setpriv):
    """As in a Dask worker: the runner runs in a worker thread; SIGKILL of the process
    must take the trial along (no orphan), whether util-linux's setpriv is there or not."""
    launch = _launch(tmp_path, SLEEPER)
    host_code = (
        "import json, sys, threading, time\n"
        "from tunelab.runner import launch_from_dict, run\n"
        "launch, grace = launch_from_dict(json.loads(sys.argv[1]))\n"
        "threading.Thread(target=run, args=(launch, grace, print, lambda: False), daemon=True).start()\n"
        "time.sleep(120)\n")
    env = {**os.environ, **({} if setpriv else {"PATH": str(tmp_path / "nothing")})}
    host = subprocess.Popen([sys.executable, "-c", host_code, json.dumps(launch_to_dict(launch, 0.5))], env=env)
    try:
        pid = _wait_for(tmp_path / "trial.pid")
        host.send_signal(signal.SIGKILL)
        host.wait(timeout=30)
        end = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < end:
            time.sleep(0.05)
        assert not _alive(pid), "the trial survived the process that ran it"
    finally:
        host.kill()


def test_runs_in_threads_at_once_each_end_their_own_trial(tmp_path):
    """A worker with several threads runs several attempts at once, each its own trial."""
    results: dict[int, object] = {}

    def attempt(key: int) -> None:
        folder = tmp_path / str(key)
        folder.mkdir()
        launch = _launch(folder, f"print('#tunelab:' + '{{\"kind\": \"final\", \"value\": {key}}}')")
        launch.key = key
        results[key] = _run(launch)

    threads = [threading.Thread(target=attempt, args=(key,)) for key in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for key, events in results.items():
        assert [e.key for e in events] == [key] * len(events)
        assert [e.report.value for e in events if e.kind == "report"] == [key]
    assert sorted(results) == [0, 1, 2, 3]


def test_runner_reads_tracked_auptimizer_lines_as_steps(tmp_path):
    events = _run(_launch(tmp_path, "for v in (3, 2, 1):\n    print(f'#Auptimizer:{v}', flush=True)\n", track=True))
    reports = [(e.report.kind, e.report.step, e.report.value) for e in events if e.kind == "report"]
    assert [r for r in reports if r[0] == "intermediate"] == [("intermediate", 1, 3.0), ("intermediate", 2, 2.0),
                                                               ("intermediate", 3, 1.0)]
    assert reports[-1] == ("final", None, 1.0)


def test_runner_reports_a_trial_that_cannot_start_as_its_exit(tmp_path):
    (tmp_path / "t.py").write_text("")
    launch = Launch(key=4, config={}, folder=tmp_path / "attempt-1", argv=["./t.py"], cwd=str(tmp_path))
    events = _run(launch)
    assert [e.kind for e in events] == ["exit"]
    assert events[0].error == "cannot start: ./t.py: permission denied; make it executable with `chmod +x ./t.py`"


@pytest.mark.parametrize(("program", "content", "reason"), [
    ("./missing.py", None, "cannot start: ./missing.py not found in workingdir"),
    ("./noline.py", "open('ran', 'w')\n", "cannot start: ./noline.py: exec format error"),
    ("no-such-program-anywhere", None, "cannot start: no-such-program-anywhere not found in workingdir")])
def test_a_program_that_cannot_start_is_named_and_never_run_by_a_shell(tmp_path, program, content, reason):
    if content is not None:
        (tmp_path / program).write_text(content)
        (tmp_path / program).chmod(0o755)
    events = _run(Launch(key=4, config={}, folder=tmp_path / "attempt-1", argv=[program], cwd=str(tmp_path)))
    assert [e.kind for e in events] == ["exit"]
    assert events[0].error.startswith(reason)
    assert not (tmp_path / "ran").exists()


def test_every_field_of_a_launch_travels(tmp_path):
    launch = Launch(key=9, config={"lr": 0.1}, folder=tmp_path / "a", argv=["prog", "x"], cwd="/w",
                    env={"A": "1"}, timeout=3.5, labels=["acc"], track=True)
    assert launch_from_dict(json.loads(json.dumps(launch_to_dict(launch, 2.0)))) == (launch, 2.0)


def test_no_process_is_left_behind(tmp_path):
    before = {p for p in os.listdir("/proc") if p.isdigit()}
    _run(_launch(tmp_path, "print('#tunelab:{\"kind\": \"final\", \"value\": 1}')"))
    left = [p for p in set(os.listdir("/proc")) - before
            if p.isdigit() and _alive(int(p)) and Path(f"/proc/{p}/stat").read_text().split()[3] == str(os.getpid())]
    assert left == [], "a child process of the runner outlived its attempt"
