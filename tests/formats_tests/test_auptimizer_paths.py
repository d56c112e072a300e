"""Path rules: an Auptimizer file takes ``workingdir`` from the folder the user starts in
(its default, and the base of a relative one) and finds ``script`` there; a native tunelab
file keeps its rule (relative to the file). Real runs of the real CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import show, tunelab, write

_TRAIN = """
    import json, os, sys
    config = json.load(open(sys.argv[1]))
    print(f"#Auptimizer:{config['x']}")
    print(os.getcwd(), file=sys.stderr)
"""


def _experiment(path: Path, **keys: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"proposer": "sequence", "n_samples": 2, "resource": "cpu", "target": "min",
                                "parameter_config": [{"name": "x", "range": [0, 1], "type": "int"}], **keys}))
    return path


def _cwds(storage_url: str, name: str) -> set[str]:
    jobs = show(name, storage_url)["jobs"]
    assert [job["status"] for job in jobs] == ["finished", "finished"], jobs
    return {Path(job["attempts"][-1]["folder"], "stderr").read_text().split("\n")[-2] for job in jobs}


def test_an_auptimizer_experiment_started_from_its_project_root_finds_its_script(workdir: Path,
                                                                                   storage_url: str) -> None:
    write(workdir / "train.py", _TRAIN)
    _experiment(workdir / "experiments" / "exp.json", name="./experiments/exp.json", script="train.py")
    out = tunelab("run", "experiments/exp.json", "--storage", storage_url, "--plain", cwd=workdir)
    assert out.returncode == 0, out.stderr
    assert _cwds(storage_url, "exp") == {str(workdir)}


def test_a_relative_auptimizer_workingdir_is_taken_from_the_start_folder(workdir: Path, storage_url: str) -> None:
    program = write(workdir / "src" / "train", f"#!{sys.executable}\n" + _TRAIN.replace("\n    ", "\n"))
    program.chmod(0o755)
    _experiment(workdir / "experiments" / "exp.json", name="./experiments/exp.json", script="train",
                workingdir="src")
    out = tunelab("run", "experiments/exp.json", "--storage", storage_url, "--plain", cwd=workdir)
    assert out.returncode == 0, out.stderr
    assert _cwds(storage_url, "exp") == {str(workdir / "src")}  # and `train` is ./train there, not on PATH


def test_a_native_file_keeps_workingdir_relative_to_the_file(workdir: Path, storage_url: str) -> None:
    write(workdir / "experiments" / "src" / "train.py", _TRAIN)
    _experiment(workdir / "experiments" / "exp.json", name="native", script="train.py", workingdir="src")
    out = tunelab("run", "experiments/exp.json", "--storage", storage_url, "--plain", cwd=workdir)
    assert out.returncode == 0, out.stderr
    assert _cwds(storage_url, "native") == {str(workdir / "experiments" / "src")}
