"""Every ``#Auptimizer:`` line a job prints is an intermediate value (steps 1, 2, ...) and
the last one its result, when the experiment tracks intermediate results, as Auptimizer
reads them; without tracking only the last line counts. Real scripts, the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import show, tunelab, write
from tunelab._reports import ReportStream

_LINES = """
    import json, sys, time
    x = json.load(open(sys.argv[1]))["x"]
    for step in range(1, 7):
        print(f"epoch {step}")
        print(f"#Auptimizer:{1.0 if x == 0 else 10.0 + step},{step / 10}", flush=True)
        time.sleep(0.02 if x == 0 else 0.3)
"""

_AUP_PRINT = """
    import sys, time
    from tunelab.compat.aup import BasicConfig, print_result
    config = BasicConfig().load(sys.argv[1])
    for step in range(1, 7):
        print_result([1.0 if config.x == 0 else 10.0 + step, step / 10])
        time.sleep(0.02 if config.x == 0 else 0.3)
"""


def _experiment(folder: Path, script: str, resource_args: dict) -> Path:
    path = folder / "exp.json"
    path.write_text(json.dumps({
        "name": "./steps/exp.json", "script": script, "resource": "cpu", "n_parallel": 1, "target": "min",
        "proposer": "sequence", "n_samples": 2, "resource_args": {"multi_res_labels": ["epoch"], **resource_args},
        "parameter_config": [{"name": "x", "range": [0, 1], "type": "int"}],
        "runtime_args": {"grace_period": 0.2}}))
    return path


@pytest.mark.parametrize("body", [_LINES, _AUP_PRINT], ids=["printed-lines", "aup-print_result"])
def test_median_stopper_stops_a_job_from_its_printed_lines(workdir: Path, storage_url: str, body: str) -> None:
    write(workdir / "steps.py", body)
    early_stop = {"early_stop": {"aup_policy": "median", "aup_policy_steps": 1}}
    out = tunelab("run", str(_experiment(workdir, "steps.py", early_stop)), "--storage", storage_url, "--plain",
                  cwd=workdir)
    assert out.returncode == 0, out.stderr
    good, bad = sorted(show("exp", storage_url)["jobs"], key=lambda job: job["config"]["x"])
    assert good["status"] == "finished" and good["result"] == 1.0
    assert good["intermediate"] == [[step, 1.0] for step in range(1, 7)]
    assert good["extra_results"] == {"epoch": 0.6}
    assert bad["status"] == "stopped"
    assert 1 <= len(bad["intermediate"]) < 6
    assert bad["intermediate"][0] == [1, 11.0]


def test_track_intermediate_results_records_the_curve(workdir: Path, storage_url: str) -> None:
    write(workdir / "steps.py", _AUP_PRINT)
    experiment = _experiment(workdir, "steps.py", {"track_intermediate_results": True})
    out = tunelab("run", str(experiment), "--storage", storage_url, "--plain", cwd=workdir)
    assert out.returncode == 0, out.stderr
    jobs = sorted(show("exp", storage_url)["jobs"], key=lambda job: job["config"]["x"])
    assert [job["status"] for job in jobs] == ["finished", "finished"]
    assert [job["result"] for job in jobs] == [1.0, 16.0]
    assert jobs[1]["intermediate"] == [[step, 10.0 + step] for step in range(1, 7)]


def test_without_tracking_only_the_last_line_counts(workdir: Path, storage_url: str) -> None:
    write(workdir / "steps.py", _LINES.replace("0.3", "0.0"))
    out = tunelab("run", str(_experiment(workdir, "steps.py", {})), "--storage", storage_url, "--plain",
                  cwd=workdir)
    assert out.returncode == 0, out.stderr
    jobs = sorted(show("exp", storage_url)["jobs"], key=lambda job: job["config"]["x"])
    assert [(job["result"], job["intermediate"]) for job in jobs] == [(1.0, []), (16.0, [])]


def test_steps_are_counted_per_file_the_same_live_and_after_a_crash(tmp_path: Path) -> None:
    live = ReportStream(tmp_path, ["acc"], track=True)
    seen = []
    for text in ("noise\n#Auptimizer:3,0.1\n#Aupti", "mizer:2,0.2\n", "#Auptimizer:1,0.3"):
        with open(tmp_path / "stderr", "a", encoding="utf-8") as handle:
            handle.write(text)
        seen += live.read()
    seen += live.read(at_end=True)
    after = ReportStream(tmp_path, ["acc"], track=True).read(at_end=True)
    for numbered in (seen, after):
        steps = [(n.seq, n.report.step, n.report.value, n.report.extra) for n in numbered
                 if n.report.kind == "intermediate"]
        assert steps == [(2, 1, 3.0, {"acc": 0.1}), (5, 2, 2.0, {"acc": 0.2}), (8, 3, 1.0, {"acc": 0.3})]
        assert [(n.seq, n.report.value) for n in numbered if n.report.kind == "final"] == [(2, 3.0), (5, 2.0),
                                                                                             (8, 1.0)]
