"""The examples, run end to end as a user would: real CLI, real processes, real SQLite."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from tunelab.cli import app
from tunelab.loader import load_experiment

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

_DATA_VARS = ("MNIST_DIR", "TUNELAB_ALLOW_DOWNLOAD", "TUNELAB_STORAGE", "TUNELAB_CONFIG", "TUNELAB_REPORT_FILE",
              "TUNELAB_MODEL_DIR", "TUNELAB_BUDGET")


def _env() -> dict[str, str]:
    """The user's environment without tunelab's or the data loader's variables (offline digits)."""
    return {k: v for k, v in os.environ.items() if k not in _DATA_VARS}


def _copy_example(name: str, tmp_path: Path) -> Path:
    """A private copy of ``examples/<name>`` (no leftovers of earlier runs)."""
    return Path(shutil.copytree(EXAMPLES / name, tmp_path / name,
                                ignore=shutil.ignore_patterns(".tunelab", "__pycache__", "mnist.npz")))


def _tunelab(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tunelab", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=_env())


def _show(name: str, storage: str, cwd: Path) -> dict[str, Any]:
    out = _tunelab("show", name, "--json", "--storage", storage, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _rosenbrock(x: float, y: float) -> float:
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _import(path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    name = f"example_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _DATA_VARS:
        monkeypatch.delenv(name, raising=False)


# mnist ---------------------------------------------------------------------------------


def test_mnist_demo_runs_end_to_end_and_saves_the_best_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _copy_example("mnist", tmp_path)
    storage = f"sqlite:///{tmp_path / 'store' / 'db.sqlite'}"
    out = _tunelab("run", "experiment.json", "--storage", storage, "--plain", cwd=folder)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "model saved in" in out.stdout

    data = _show("mnist", storage, folder)
    assert data["experiment"]["status"] == "finished"
    search = [j for j in data["jobs"] if not j["info"].get("save_model")]
    assert len(search) == 12
    assert all(j["status"] == "finished" for j in search), [j["error"] for j in search]
    for job in search:
        assert 0.0 <= job["result"] <= 1.0
        assert set(job["config"]) == {"lr", "units", "alpha", "batch_size"}
        assert 1e-4 <= job["config"]["lr"] <= 0.1 and 16 <= job["config"]["units"] <= 128
        assert job["config"]["batch_size"] in (16, 32, 64, 128)
        assert [step for step, _ in job["intermediate"]] == list(range(1, 9))
        assert job["intermediate"][-1][1] == pytest.approx(job["result"])
        assert job["extra_results"]["loss"] > 0
        log = Path(job["attempts"][0]["folder"], "stderr").read_text()
        assert "digits" in log  # offline: the bundled fallback data

    best = data["best"]
    assert best["result"] == max(j["result"] for j in search)
    assert best["result"] > 0.8

    model_dir = Path(data["model_dir"])
    assert tmp_path / "store" / "models" in model_dir.parents  # beside the SQLite file
    assert (model_dir / "model.npz").is_file() and (model_dir / "model.json").is_file()
    (saved,) = [j for j in data["jobs"] if j["info"].get("save_model")]
    assert saved["status"] == "finished"
    assert {k: saved["config"][k] for k in best["config"]} == best["config"]
    meta = json.loads((model_dir / "model.json").read_text())
    assert meta["params"]["units"] == best["config"]["units"]

    train = _import(folder / "train.py", monkeypatch)
    digits = train.load_data()
    accuracy = float((train.predict(model_dir, digits.x_val) == digits.y_val).mean())
    assert accuracy == pytest.approx(meta["scores"]["accuracy"])
    assert accuracy > 0.8


def test_mnist_train_script_runs_by_hand_with_its_defaults(tmp_path: Path) -> None:
    folder = _copy_example("mnist", tmp_path)
    out = subprocess.run([sys.executable, "train.py"], cwd=folder, capture_output=True, text=True, timeout=120,
                         env=_env())
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith("#tunelab:")]
    final = json.loads(lines[-1].removeprefix("#tunelab:"))
    assert final["kind"] == "final" and final["value"] > 0.8 and "loss" in final["extra"]
    assert len(lines) == 9  # eight epochs, then the final value


def test_mnist_experiment_formats_are_the_same_experiment() -> None:
    specs = [load_experiment(EXAMPLES / "mnist" / f"experiment.{ext}").model_dump() for ext in ("json", "yaml", "toml")]
    assert specs[0] == specs[1] == specs[2]
    assert specs[0]["target"] == "max" and specs[0]["resource_args"]["save_model"] is True


def test_mnist_under_pbt_continues_each_member_from_its_parents_checkpoint(tmp_path: Path) -> None:
    folder = _copy_example("mnist", tmp_path)
    storage = f"sqlite:///{tmp_path / 'store' / 'db.sqlite'}"
    out = _tunelab("run", "experiment-pbt.json", "--storage", storage, "--plain", cwd=folder)
    assert out.returncode == 0, out.stdout + out.stderr
    data = _show("mnist-pbt", storage, folder)
    (saved,) = [j for j in data["jobs"] if j["info"].get("save_model")]
    jobs = [j for j in data["jobs"] if not j["info"].get("save_model")]
    assert len(jobs) == 8 and all(j["status"] == "finished" for j in jobs), [j["error"] for j in jobs]
    by_id = {j["id"]: j for j in jobs}
    for job in jobs[:4]:
        assert job["parent_id"] is None and job["budget"] == 2 and [s for s, _ in job["intermediate"]] == [1, 2]
    for job in jobs[4:]:
        parent = by_id[job["parent_id"]]
        assert job["budget"] == 4 and [s for s, _ in job["intermediate"]] == [3, 4]
        assert job["config"]["units"] == parent["config"]["units"], "units is not in `mutate`"
        log = Path(job["attempts"][0]["folder"], "stderr").read_text()
        assert "continuing from the checkpoint of epoch 2" in log
    assert data["best"]["result"] > 0.8
    assert saved["status"] == "finished" and saved["parent_id"] == data["best"]["job_id"]
    assert saved["intermediate"] == [], "the model is the best member's, not trained again"
    assert saved["result"] == pytest.approx(data["best"]["result"])


# rosenbrock ----------------------------------------------------------------------------


def test_rosenbrock_script_through_the_cli_app(tmp_path: Path) -> None:
    folder = _copy_example("rosenbrock", tmp_path)
    storage = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(folder / "experiment.json"), "--storage", storage, "--plain"])
    assert result.exit_code == 0, result.output
    assert "20/20 done" in result.output and "best config" in result.output

    shown = runner.invoke(app, ["show", "rosenbrock", "--storage", storage, "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert data["experiment"]["status"] == "finished"
    jobs = data["jobs"]
    assert len(jobs) == 20 and all(j["status"] == "finished" for j in jobs)
    for job in jobs:
        x, y = job["config"]["x"], job["config"]["y"]
        assert -5 <= x <= 5 and -5 <= y <= 5
        assert job["result"] == pytest.approx(_rosenbrock(x, y))
        assert tmp_path / "jobs" in Path(job["attempts"][0]["folder"]).parents  # beside the SQLite file
    assert data["best"]["result"] == min(j["result"] for j in jobs)
    assert data["model_dir"] is None

    listing = runner.invoke(app, ["ls", "--storage", storage])
    assert listing.exit_code == 0 and "rosenbrock" in listing.output


def test_rosenbrock_decorated_script(tmp_path: Path) -> None:
    folder = _copy_example("rosenbrock", tmp_path)
    spec = json.loads((folder / "experiment.json").read_text())
    spec.update(name="rosenbrock-decorated", script="decorated.py", n_samples=4)
    (folder / "decorated.json").write_text(json.dumps(spec))
    storage = f"sqlite:///{tmp_path / 'db.sqlite'}"
    out = _tunelab("run", "decorated.json", "--storage", storage, "--plain", cwd=folder)
    assert out.returncode == 0, out.stdout + out.stderr
    jobs = _show("rosenbrock-decorated", storage, folder)["jobs"]
    assert len(jobs) == 4 and all(j["status"] == "finished" for j in jobs)
    for job in jobs:
        assert job["result"] == pytest.approx(_rosenbrock(job["config"]["x"], job["config"]["y"]))


def test_rosenbrock_function_api(tmp_path: Path) -> None:
    folder = _copy_example("rosenbrock", tmp_path)
    storage = f"sqlite:///{tmp_path / 'db.sqlite'}"
    out = subprocess.run([sys.executable, "function_api.py", "--storage", storage], cwd=folder,
                         capture_output=True, text=True, timeout=180, env=_env())
    assert out.returncode == 0, out.stderr
    assert "20 jobs finished" in out.stdout and "best value" in out.stdout

    data = _show("rosenbrock-fn", storage, folder)
    assert data["experiment"]["status"] == "finished"
    assert data["experiment"]["spec"]["function"].endswith("function_api.py:rosen")
    jobs = data["jobs"]
    assert len(jobs) == 20 and all(j["status"] == "finished" for j in jobs)
    for job in jobs:
        x, y = job["config"]["x"], job["config"]["y"]
        assert job["result"] == pytest.approx(_rosenbrock(x, y))
        assert job["extra_results"]["distance"] == pytest.approx(((x - 1) ** 2 + (y - 1) ** 2) ** 0.5)
    assert data["best"]["result"] == min(j["result"] for j in jobs)


# multiobjective ------------------------------------------------------------------------


def test_multiobjective_example_shows_the_pareto_front(tmp_path: Path) -> None:
    folder = _copy_example("multiobjective", tmp_path)
    spec = json.loads((folder / "experiment.json").read_text())
    (folder / "experiment.json").write_text(json.dumps({**spec, "n_samples": 4}))
    storage = f"sqlite:///{tmp_path / 'store' / 'db.sqlite'}"
    out = _tunelab("run", "experiment.json", "--storage", storage, "--plain", cwd=folder)
    assert out.returncode == 0, out.stdout + out.stderr
    data = _show("digits-pareto", storage, folder)
    jobs = data["jobs"]
    assert len(jobs) == 4 and all(j["status"] == "finished" for j in jobs)
    assert all(0 < j["objectives"]["accuracy"] <= 1 and j["objectives"]["params"] >= 350 for j in jobs)
    assert all("train_seconds" in j["extra_results"] for j in jobs)
    assert data["pareto_front"] and all(j["pareto"] == (j["id"] in data["pareto_front"]) for j in jobs)
    assert "Pareto front:" in _tunelab("show", "digits-pareto", "--storage", storage, cwd=folder).stdout
    out = subprocess.run([sys.executable, "function_api.py", "--storage", storage, "--samples", "3"], cwd=folder,
                         capture_output=True, text=True, timeout=180, env=_env())
    assert out.returncode == 0, out.stderr
    assert "on the Pareto front of 3" in out.stdout
    assert all(j["objectives"]["seconds"] > 0 for j in _show("digits-pareto-api", storage, folder)["jobs"])
