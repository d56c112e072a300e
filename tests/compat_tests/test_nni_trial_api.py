"""tunelab.compat.nni: NNI trial code with one import changed, run as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tunelab.compat.nni as nni
from tests.conftest import write
from tunelab import _protocol as protocol

TRIAL = """
    import json
    import tunelab.compat.nni as nni
    params = nni.get_next_parameter()
    for step in range(3):
        nni.report_intermediate_result({"default": step / 10, "other": 1})
    nni.report_final_result({"default": 0.9, "loss": 0.25, "note": "text"})
    print(json.dumps({"params": params, "current": nni.get_current_parameter(),
                      "ids": [nni.get_experiment_id(), nni.get_trial_id(), nni.get_sequence_id()]}))
"""


def _run(script: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TUNELAB_")}
    return subprocess.run([sys.executable, str(script)], cwd=script.parent, capture_output=True, text=True,
                          timeout=60, env={**clean, **env})


def test_trial_api_reports_and_nests(tmp_path: Path) -> None:
    script = write(tmp_path / "trial.py", TRIAL)
    (tmp_path / "config.json").write_text(json.dumps({"layer": "conv", "layer/conv/kernel": 3, "lr": 0.1}))
    layout = {"layer": {"path": ["layer"], "nested": True}, "layer/conv/kernel": {"path": ["layer", "kernel"]}}
    events = tmp_path / "events.jsonl"
    out = _run(script, {protocol.ENV_CONFIG: str(tmp_path / "config.json"), protocol.ENV_REPORT_FILE: str(events),
                        protocol.ENV_JOB_ID: "17", protocol.ENV_EXPERIMENT: "exp", nni.ENV_LAYOUT: json.dumps(layout)})
    assert out.returncode == 0, out.stderr
    printed = json.loads(out.stdout)
    assert printed["params"] == printed["current"] == {"layer": {"_name": "conv", "kernel": 3}, "lr": 0.1}
    assert printed["ids"] == ["exp", "17", 17]
    reports = [json.loads(line) for line in events.read_text().splitlines()]
    assert reports == [{"kind": "intermediate", "step": 1, "value": 0.0},
                       {"kind": "intermediate", "step": 2, "value": 0.1},
                       {"kind": "intermediate", "step": 3, "value": 0.2},
                       {"kind": "final", "value": 0.9, "extra": {"loss": 0.25}}]


def test_standalone_run_gets_empty_parameters_and_nni_ids(tmp_path: Path) -> None:
    script = write(tmp_path / "trial.py", TRIAL)
    out = _run(script, {})
    assert out.returncode == 0, out.stderr
    printed = json.loads(out.stdout.splitlines()[-1])
    assert printed["params"] == {} and printed["ids"] == ["STANDALONE", "STANDALONE", 0]
    assert out.stdout.count(protocol.PREFIX) == 4


def test_float_final_result(tmp_path: Path) -> None:
    script = write(tmp_path / "t.py", "import tunelab.compat.nni as nni\nnni.report_final_result(0.5)\n")
    events = tmp_path / "events.jsonl"
    assert _run(script, {protocol.ENV_REPORT_FILE: str(events)}).returncode == 0
    assert json.loads(events.read_text()) == {"kind": "final", "value": 0.5}


def test_merge_parameter_follows_nni_utils() -> None:
    import argparse

    from tunelab.compat.nni import merge_parameter

    args = argparse.Namespace(lr=0.01, batch_size=64, data_dir=None, epochs=10)
    assert merge_parameter(args, {"lr": 1, "batch_size": 32, "data_dir": "/d"}) is args
    assert (args.lr, type(args.lr), args.batch_size, args.data_dir) == (1.0, float, 32, "/d")
    params = {"momentum": 0.5}
    assert merge_parameter(params, None) == {"momentum": 0.5}
    assert merge_parameter(params, {"momentum": 0.9}) == {"momentum": 0.9}
    with pytest.raises(ValueError, match="Key 'units' not found"):
        merge_parameter(params, {"units": 3})
    with pytest.raises(ValueError, match='"epochs" .* type int, but found float'):
        merge_parameter(args, {"epochs": 2.5})
