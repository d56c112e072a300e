"""An experiment that cannot run here is refused before anything is recorded, by
``tunelab validate`` and ``tunelab run`` alike (tunelab.checks)."""

from __future__ import annotations

import json
import stat

import pytest

from tests.conftest import tunelab, tunelab_inprocess, write
from tunelab.storage import Storage

PARAMS = [{"name": "x", "type": "float", "range": [0, 1]}]
GOOD = {"script": "train.py", "n_samples": 1, "parameter_config": PARAMS}


def _without(key):
    return {k: v for k, v in GOOD.items() if k != key}


CANNOT_RUN = {
    "python script missing": ({**GOOD, "script": "nope.py"}, ["script", "'nope.py'", "not found"]),
    "shell script missing": ({**GOOD, "script": "nope.sh"}, ["script", "'nope.sh'", "workingdir"]),
    "script not executable": ({**GOOD, "script": "plain.sh"}, ["script", "'plain.sh'", "chmod +x"]),
    "script is a folder": ({**GOOD, "script": "sub"}, ["script", "'sub'"]),
    "program not on PATH": ({**_without("script"), "command": ["no-such-program-xyz", "{config}"]},
                            ["command[0]", "'no-such-program-xyz'", "PATH"]),
    "program path missing": ({**_without("script"), "command": ["./bin/run", "{config}"]},
                             ["command[0]", "'./bin/run'", "chmod +x"]),
    "PATH of env lacks it": ({**_without("script"), "command": ["python3", "train.py"],
                              "runtime_args": {"env": {"PATH": "/nonexistent"}}}, ["command[0]", "'python3'"]),
    "workingdir missing": ({**GOOD, "workingdir": "nodir"}, ["workingdir", "nodir", "not a folder"]),
    "workingdir a file": ({**GOOD, "workingdir": "train.py"}, ["workingdir", "train.py"]),
    "gpu without GPUs": ({**GOOD, "resource": "gpu"}, ["resource", "gpu", "CUDA_VISIBLE_DEVICES", "cpu"]),
    "gpus_per_job too many": ({**GOOD, "resource": "gpu", "resource_args": {"gpus": [0], "gpus_per_job": 2}},
                              ["gpus_per_job", "2", "[0]"]),
    "unknown early_stop rule": ({**GOOD, "resource_args": {"early_stop": {"name": "magic"}}},
                                ["resource_args.early_stop", "'magic'", "median"]),
    "unknown aup_policy": ({**GOOD, "resource_args": {"early_stop": {"aup_policy": "psychic"}}},
                           ["early_stop", "psychic"]),
    "early_stop no rule": ({**GOOD, "resource_args": {"early_stop": {"steps": 3}}},
                           ["resource_args.early_stop", "median"]),
    "grid too large": ({**_without("n_samples"), "proposer": "sequence", "parameter_config": [
        {"name": f"x{i}", "type": "float", "range": [0, 1], "n": 1000} for i in range(4)]},
        ["n_samples", "1,000,000,000,000", "sequence"]),
    "grid points per parameter": ({**GOOD, "proposer": "sequence", "proposer_args": {"points": 10**9}},
                                  ["proposer_args", "1,000,000,000", "points"]),
}


@pytest.fixture
def folder(workdir):
    write(workdir / "train.py", "print('#Auptimizer:0.5')\n")
    write(workdir / "plain.sh", "echo '#Auptimizer:0.5'\n")
    (workdir / "sub").mkdir()
    return workdir


def _one_line(out, words):
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.mark.parametrize("case", sorted(CANNOT_RUN))
def test_refused_by_validate_and_run_before_recording(folder, monkeypatch, case):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    spec, words = CANNOT_RUN[case]
    path = folder / "exp.json"
    path.write_text(json.dumps({"name": "cannot", **spec}))
    url = f"sqlite:///{folder / 'db' / 'tunelab.db'}"
    _one_line(tunelab_inprocess("validate", str(path)), words)
    _one_line(tunelab_inprocess("run", str(path), "--storage", url, "--plain"), words)
    store = Storage(url)
    assert store.experiments() == []
    store.close()


def test_history_from_is_checked_against_the_storage(folder):
    url = f"sqlite:///{folder / 'db' / 'tunelab.db'}"
    path = folder / "exp.json"
    path.write_text(json.dumps({"name": "seeded", **GOOD, "history_from": ["ghost"]}))
    assert tunelab_inprocess("validate", str(path)).returncode == 0
    for argv in (["validate", str(path), "--storage", url], ["run", str(path), "--storage", url]):
        _one_line(tunelab_inprocess(*argv), ["history_from[0]", "'ghost'", "tunelab ls"])
    store = Storage(url)
    assert store.experiments() == []
    store.close()


def test_good_file_still_runs_and_script_found_on_path(folder):
    """The checks accept what can run: a script, an executable beside it, a program on PATH."""
    tool = write(folder / "tool.sh", "#!/bin/sh\necho '#Auptimizer:0.25'\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    url = f"sqlite:///{folder / 'db' / 'tunelab.db'}"
    specs = {"a": GOOD, "b": {**GOOD, "script": "tool.sh"},
             "c": {**_without("script"), "command": ["sh", "tool.sh"]},
             "d": {**_without("script"), "command": ["./tool.sh", "{config}"]}}
    for name, spec in specs.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps({"name": name, **spec}))
        assert tunelab_inprocess("validate", str(path)).returncode == 0
        out = tunelab_inprocess("run", str(path), "--storage", url, "--plain")
        assert out.returncode == 0, out.stderr


def test_missing_script_in_a_real_process(folder):
    """End to end: the installed command refuses it the same way, and records nothing."""
    path = folder / "exp.json"
    path.write_text(json.dumps({"name": "cannot", **GOOD, "script": "gone.py"}))
    url = f"sqlite:///{folder / 'db' / 'tunelab.db'}"
    out = tunelab("run", str(path), "--storage", url)
    _one_line(out, ["script", "'gone.py'"])
    store = Storage(url)
    assert store.experiments() == []
    store.close()


def test_a_script_deleted_after_the_check_fails_its_job_with_a_reason(folder):
    """What the checks cannot see (the folder vanishes later) is a failed job, not a crash."""
    from tunelab import api
    from tunelab.loader import load_experiment

    url = f"sqlite:///{folder / 'db' / 'tunelab.db'}"
    (folder / "later").mkdir()
    write(folder / "later" / "train.py", "print('#Auptimizer:0.5')\n")
    path = folder / "exp.json"
    path.write_text(json.dumps({"name": "vanish", **GOOD, "workingdir": "later", "n_samples": 1}))
    store = Storage(url)
    api.create(load_experiment(path), store)
    store.close()
    (folder / "later" / "train.py").unlink()
    (folder / "later").rmdir()
    out = tunelab_inprocess("resume", "vanish", "--storage", url, "--plain")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    shown = json.loads(tunelab_inprocess("show", "vanish", "--storage", url, "--json").stdout)
    assert shown["jobs"][0]["status"] == "failed"
    assert "cannot start" in shown["jobs"][0]["error"]
