"""A job that cannot start (working folder gone, program not executable, not a program,
not found, its folder not creatable) is a failed attempt with that reason, in every
executor; the run never ends with a traceback. Real processes, the real CLI."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import show, tunelab, write
from tunelab.executors import EXIT, Executor, FunctionExecutor, Launch, PassiveExecutor, ScriptExecutor

_SHEBANG = f"#!{sys.executable}\n"

# Job 0 reports, then breaks what the next jobs need to start: a change made while the
# experiment runs (files edited, folders moved), which no check before the run can see.
_BREAKS = {
    "not-executable": ("./train", "os.chmod(__file__, 0o644)",
                       "cannot start: ./train: permission denied; make it executable with `chmod +x ./train`"),
    "exec-format-error": ("./train", "open(__file__, 'w').write('print(1)\\n')",
                          "cannot start: ./train: exec format error"),
    "program-gone": ("./train", "os.remove(__file__)", "cannot start: ./train not found in workingdir"),
    "workingdir-gone": ("./train", "os.rename(os.getcwd(), os.getcwd() + '-moved')",
                        "cannot start: workingdir {work} does not exist"),
}


def _experiment(workdir: Path, script: str, body: str, **keys: object) -> Path:
    work = workdir / "work"
    program = write(work / "train", _SHEBANG + f"""
import json, os, sys
config = json.load(open(sys.argv[1]))
print(f"#Auptimizer:{{config['x']}}", flush=True)
if config["x"] == 0:
    {body}
""")
    program.chmod(0o755)
    path = workdir / "exp.json"
    path.write_text(json.dumps({
        "name": "./exp.json", "script": script, "workingdir": str(work), "resource": "cpu", "n_parallel": 1,
        "proposer": "sequence", "n_samples": 3, "target": "min",
        "parameter_config": [{"name": "x", "range": [0, 2], "type": "int"}], **keys}))
    return path


@pytest.mark.parametrize("case", sorted(_BREAKS))
def test_a_job_that_cannot_start_is_a_failed_attempt_with_the_reason(workdir: Path, storage_url: str,
                                                                      case: str) -> None:
    script, body, reason = _BREAKS[case]
    experiment = _experiment(workdir, script, body, job_failure={"ignore_fail": True, "job_retries": 1})
    out = tunelab("run", str(experiment), "--storage", storage_url, "--plain", cwd=workdir)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    jobs = sorted(show("exp", storage_url)["jobs"], key=lambda job: job["config"]["x"])
    assert [job["status"] for job in jobs] == ["finished", "failed", "failed"]
    assert jobs[0]["result"] == 0
    expected = reason.format(work=workdir / "work")
    for job in jobs[1:]:
        assert [a["status"] for a in job["attempts"]] == ["failed", "failed"]  # the retry could not start either
        assert all(a["error"].startswith(expected) for a in job["attempts"]), job["attempts"]


def test_without_ignore_fail_the_run_ends_failed_in_one_line(workdir: Path, storage_url: str) -> None:
    script, body, reason = _BREAKS["not-executable"]
    out = tunelab("run", str(_experiment(workdir, script, body)), "--storage", storage_url, "--plain", cwd=workdir)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr and "KeyError" not in out.stderr
    assert reason in out.stderr + out.stdout
    data = show("exp", storage_url)
    assert data["experiment"]["status"] == "failed"
    assert [job["status"] for job in sorted(data["jobs"], key=lambda job: job["id"])] == ["finished", "failed"]


def _objective(config: dict) -> float:
    return config["x"]


@pytest.mark.parametrize("make", [ScriptExecutor, lambda: FunctionExecutor(_objective, 1), PassiveExecutor],
                         ids=["script", "function", "passive"])
def test_every_executor_fails_an_attempt_whose_folder_cannot_be_made(tmp_path: Path, make) -> None:
    (tmp_path / "taken").write_text("a file where the attempt's folder should go")
    executor: Executor = make()
    try:
        executor.submit(Launch(1, {"x": 1}, tmp_path / "taken" / "attempt-1",
                               argv=[sys.executable, "-c", "print('#Auptimizer:1')"], cwd=str(tmp_path)))
        events = executor.poll(1.0)
    finally:
        executor.shutdown()
    assert [(e.key, e.kind) for e in events] == [(1, EXIT)]
    assert events[0].error.startswith("cannot start: Not a directory")
    assert executor.running == []


def test_the_script_executor_keeps_running_others_when_one_cannot_start(tmp_path: Path) -> None:
    executor = ScriptExecutor()
    try:
        executor.submit(Launch(1, {}, tmp_path / "a1", argv=[str(tmp_path / "missing")], cwd=str(tmp_path)))
        executor.submit(Launch(2, {}, tmp_path / "a2", argv=[sys.executable, "-c", "print('#Auptimizer:2')"],
                               cwd=str(tmp_path)))
        events, end = [], time.monotonic() + 20
        while sum(e.kind == EXIT for e in events) < 2 and time.monotonic() < end:
            events += executor.poll(0.5)
    finally:
        executor.shutdown()
    exits = {e.key: e.error for e in events if e.kind == EXIT}
    assert exits[1] == f"cannot start: {tmp_path / 'missing'} not found in workingdir {tmp_path} or on PATH; " \
                       f"fix `script` or `command`"
    assert exits[2] is None and (tmp_path / "a1" / "stderr").read_text().startswith("cannot start:")
    assert os.listdir(tmp_path / "a2") and [e.report.value for e in events if e.report] == [2.0]
