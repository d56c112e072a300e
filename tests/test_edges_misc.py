"""Edges the battery's one-line rule does not cover: re-asked answers in ``tunelab init``,
and reports a job cannot make (booleans, integers too large for a float)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from tests.conftest import show, tunelab, write
from tunelab import _protocol as protocol
from tunelab import trial


def _converse(argv: list[str], answers: list[str], cwd, limit: float = 60) -> tuple[int, str]:
    """Run ``argv`` on a pseudo-terminal (``init`` asks only a terminal), answering each prompt."""
    main, child = pty.openpty()
    proc = subprocess.Popen(argv, stdin=child, stdout=child, stderr=child, cwd=cwd, close_fds=True)
    os.close(child)
    out, sent, deadline = b"", 0, time.monotonic() + limit
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if sent < len(answers) and out.rstrip().endswith((b":", b"]:")):
                os.write(main, (answers[sent] + "\n").encode())
                sent += 1
        elif proc.poll() is not None:
            break
    os.close(main)
    return proc.wait(timeout=10), out.decode(errors="replace")


def test_init_asks_again_on_every_bad_answer(workdir):
    """``maximum`` for the target crashed with a traceback; every answer is now checked."""
    answers = ["x:float:0:1", "bad:param", "", "tab\there", "demo", "train.py", "magic", "tpe", "zero", "0", "5",
               "-1", "2", "maximum", "max"]
    code, text = _converse([sys.executable, "-m", "tunelab", "init", "-o", "exp.json"], answers, workdir)
    assert code == 0, text
    assert "Traceback" not in text
    for complaint in ("'bad:param' must look like", "control character", "unknown name 'magic'",
                      "at least 1, got 0", "expected min or max, got 'maximum'"):
        assert complaint in text, (complaint, text)
    data = json.loads((workdir / "exp.json").read_text())
    assert (data["name"], data["proposer"], data["n_samples"], data["n_parallel"], data["target"]) == \
        ("demo", "tpe", 5, 2, "max")
    assert tunelab("validate", "exp.json", cwd=workdir).returncode == 2  # train.py does not exist yet
    write(workdir / "train.py", "print('#Auptimizer:0.5')\n")
    assert tunelab("validate", "exp.json", cwd=workdir).returncode == 0


@pytest.mark.parametrize(("line", "reason"), [
    ('{"kind": "final", "value": true}', "must be a number, got True"),
    ('{"kind": "final", "value": ' + str(10**400) + "}", "must fit in a float"),
    ('{"kind": "final", "value": 0.5, "extra": {"acc": ' + str(10**400) + "}}", "must fit in a float"),
    ('{"kind": "final", "value": 1' + "0" * 5000 + "}", "not valid JSON"),
    ("#Auptimizer:True", "must be a number, got 'True'"),
])
def test_reports_that_are_not_numbers_are_refused(line, reason):
    with pytest.raises(protocol.ProtocolError, match=reason):
        protocol.parse_line(line)


@pytest.mark.parametrize(("value", "reason"), [(True, "got True"), (10**400, "must fit in a float")])
def test_trial_report_refuses_booleans_and_huge_integers(value, reason):
    with pytest.raises(TypeError, match=reason):
        trial.report(value)


@pytest.mark.parametrize("step", [True, "3", 1.5, None])
def test_an_intermediate_step_must_be_a_whole_number(step):
    with pytest.raises(TypeError, match="step must be a whole number"):
        trial.report_intermediate(0.5, step)


def test_a_huge_report_fails_the_job_with_a_clear_reason(workdir, storage_url):
    """End to end: the job fails, its reason names the problem, and tunelab prints no traceback of its own."""
    write(workdir / "train.py", 'print(\'#tunelab:{"kind": "final", "value": ' + str(10**400) + '}\')\n')
    exp = workdir / "exp.json"
    exp.write_text(json.dumps({"name": "huge", "command": [sys.executable, "train.py"], "n_samples": 1,
                               "parameter_config": [{"name": "x", "range": [0, 1]}]}))
    out = tunelab("run", str(exp), "--storage", storage_url, "--plain", cwd=workdir)
    assert out.returncode == 1 and "Traceback" not in out.stderr + out.stdout
    job = show("huge", storage_url, cwd=workdir)["jobs"][0]
    assert job["status"] == "failed" and "must fit in a float" in job["error"]
    assert "Traceback" not in job["error"]


def _strict(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_an_extra_nan_is_recorded_as_null_not_as_a_number(workdir, storage_url):
    write(workdir / "train.py", "print('#Auptimizer:0.5,nan,inf,0.25')\n")
    exp = workdir / "exp.json"
    exp.write_text(json.dumps({"name": "nan", "script": "train.py", "n_samples": 1,
                               "resource_args": {"multi_res_labels": ["acc", "loss", "f1"]},
                               "parameter_config": [{"name": "x", "range": [0, 1]}]}))
    assert tunelab("run", str(exp), "--storage", storage_url, "--plain", cwd=workdir).returncode == 0
    out = tunelab("show", "nan", "--json", "--storage", storage_url, cwd=workdir)
    job = _strict(out.stdout)["jobs"][0]
    assert job["status"] == "finished" and job["result"] == 0.5
    assert job["extra_results"] == {"acc": None, "loss": None, "f1": 0.25}
