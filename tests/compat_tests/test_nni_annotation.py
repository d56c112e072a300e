"""NNI annotation mode: search space from annotations, a rewritten copy run in the job folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write
from tunelab import _protocol as protocol
from tunelab.compat.nni_annotation import AnnotationError, search_space

SCRIPT = '''
"""An annotated trial."""
from __future__ import annotations
import json, math


def relu(v):
    return max(v, 0.0)


def tanh(v):
    return math.tanh(v)


def main():
    """@nni.variable(nni.choice(16, 32, 64), name=units)"""
    units = 32
    """@nni.variable(nni.loguniform(0.001, 0.1), name=self_lr)"""
    self_lr = 0.01
    """@nni.variable(nni.choice(math.pi, math.e), name=const)"""
    const = 1.0
    for step in range(2):
        """@nni.function_choice(relu(step - 1.0), tanh(step - 1.0), name=act)"""
        value = relu(step - 1.0)
        """@nni.report_intermediate_result(value)"""
    result = units * self_lr + const
    """@nni.report_final_result(result)"""
    print(json.dumps({"units": units, "lr": self_lr, "const": const, "value": value}))


if __name__ == "__main__":
    main()
'''


def test_search_space_from_annotations() -> None:
    assert search_space(SCRIPT, "s.py") == {
        "units": {"_type": "choice", "_value": [16, 32, 64]},
        "self_lr": {"_type": "loguniform", "_value": [0.001, 0.1]},
        "const": {"_type": "choice", "_value": ["math.pi", "math.e"]},
        "act": {"_type": "choice", "_value": ["relu(step - 1.0)", "tanh(step - 1.0)"]},
    }


def test_bad_annotations_name_the_line() -> None:
    with pytest.raises(AnnotationError, match=r"^s.py:1: unknown distribution nni.gauss"):
        search_space("'''@nni.variable(nni.gauss(0, 1), name=x)'''\nx = 1\n", "s.py")
    with pytest.raises(AnnotationError, match=r"^s.py:1: @nni.variable needs `name=<variable>`"):
        search_space("'''@nni.variable(nni.choice(1, 2))'''\nx = 1\n", "s.py")
    with pytest.raises(AnnotationError, match="no '''@nni.variable"):
        search_space("x = 1\n", "s.py")


def _env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("TUNELAB_")}, **extra}


def test_runner_rewrites_a_copy_and_reports(tmp_path: Path) -> None:
    script = write(tmp_path / "code" / "trial.py", SCRIPT)
    job = tmp_path / "job"
    job.mkdir()
    (job / "config.json").write_text(json.dumps({"units": 64, "self_lr": 0.1, "const": "math.e",
                                                 "act": "tanh(step - 1.0)"}))
    events = job / "events.jsonl"
    out = subprocess.run([sys.executable, "-m", "tunelab.compat.nni_annotation", str(job / "config.json"),
                          str(script)], cwd=script.parent, capture_output=True, text=True, timeout=60,
                         env=_env(**{protocol.ENV_REPORT_FILE: str(events)}))
    assert out.returncode == 0, out.stderr
    printed = json.loads(out.stdout)
    assert printed == {"units": 64, "lr": 0.1, "const": 2.718281828459045, "value": 0.0}
    reports = [json.loads(line) for line in events.read_text().splitlines()]
    assert [r["kind"] for r in reports] == ["intermediate", "intermediate", "final"]
    assert reports[-1]["value"] == pytest.approx(64 * 0.1 + 2.718281828459045)
    assert (job / "trial.annotated.py").exists() and script.read_text() == SCRIPT.lstrip()


def test_unannotated_script_runs_on_its_own(tmp_path: Path) -> None:
    script = write(tmp_path / "trial.py", SCRIPT)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=_env())
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"units": 32, "lr": 0.01, "const": 1.0, "value": 0.0}
