"""No experiment name writes outside the tunelab folder: names become folder names
(``jobs/<name>-<time>/``, ``checkpoints/``, ``models/``) only through a sanitised key."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import tunelab_inprocess, write

NAMES = ["../escape", "../../../../tmp/escape", "/abs/escape", "..", ".", "a/../../b", "~root", "C:\\evil",
         "name with spaces", "ünïcødé-名前" * 8, "名" * 200, "e" * 200, "-rf", ".hidden", "%2e%2e%2fx"]


def _files(folder):
    return {os.path.join(root, name) for root, _, names in os.walk(folder) for name in names}


@pytest.mark.parametrize("name", NAMES, ids=lambda n: repr(n)[:30])
def test_a_name_never_writes_outside_the_tunelab_folder(tmp_path, monkeypatch, name):
    outside, inside = tmp_path / "cwd", tmp_path / "store"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.delenv("TUNELAB_STORAGE", raising=False)
    write(outside / "train.py", "from tunelab import trial\ntrial.report(0.5)\n")
    exp = outside / "exp.json"
    exp.write_text(json.dumps({"name": name, "script": "train.py", "n_samples": 1, "resource_args": {"save_model": True},
                               "parameter_config": [{"name": "x", "range": [0, 1]}]}))
    before = _files(tmp_path)
    out = tunelab_inprocess("run", str(exp), "--storage", f"sqlite:///{inside / 'tunelab.db'}", "--plain")
    assert out.returncode == 0, out.stdout + out.stderr
    new = _files(tmp_path) - before
    assert new and all(path.startswith(str(inside) + os.sep) for path in new), sorted(new)[:5]
    jobs = [p for p in new if os.sep + "jobs" + os.sep in p]
    assert jobs and all(os.path.realpath(p).startswith(str(inside / "jobs") + os.sep) for p in jobs)
