"""End to end: population-based training on the toy problem of examples/pbt, with the
real CLI, real trial processes and SQLite: it converges where a plain search with the
same compute cannot, records the lineage, resumes exactly after kill -9, replaces
failed members."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import shutil
from pathlib import Path

import numpy as np

from tests.conftest import kill_9_then_resume, show, tunelab, write_experiment

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "pbt"
SPACE = [{"name": "lr", "type": "float", "range": [0.0001, 0.1], "log": True}]


def _quadratic():
    spec = importlib.util.spec_from_file_location("pbt_quadratic", EXAMPLE / "quadratic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _copy(workdir: Path) -> Path:
    return Path(shutil.copytree(EXAMPLE, workdir / "pbt", ignore=shutil.ignore_patterns(".tunelab", "__pycache__")))


def _check_lineage(jobs: list[dict]) -> None:
    """Every job past generation 0 names its parent by id and continued from its checkpoint."""
    by_number = {j["number"]: j for j in jobs}
    for job in jobs:
        info = job["info"]
        if info["generation"] == 0:
            assert job["parent_id"] is None
            continue
        parent = by_number[info["parent"]]
        assert job["parent_id"] == parent["id"] and parent["info"]["generation"] == info["generation"] - 1
        assert job["intermediate"][0][0] == info["generation"] + 1, "trained from zero, not from the checkpoint"
        assert job["result"] <= parent["result"], "the copied checkpoint was not the parent's"


def test_a_population_of_4_converges_where_a_plain_search_with_the_same_compute_cannot(workdir, storage_url):
    folder = _copy(workdir)
    out = tunelab("run", "experiment.json", "--storage", storage_url, cwd=folder)
    assert out.returncode == 0, out.stderr
    data = show("pbt-quadratic", storage_url)
    jobs = data["jobs"]
    quadratic = _quadratic()
    assert len(jobs) == 4 * 16 and data["experiment"]["status"] == "finished"
    assert data["best"]["result"] < quadratic.CONVERGED
    _check_lineage(jobs)
    assert any("exploited" in j["info"] for j in jobs)

    plain = json.loads((folder / "experiment.json").read_text())
    plain.update(name="plain", proposer="random", proposer_args={}, n_samples=4)  # 4 x 16 epochs, as PBT used
    write_experiment(folder, "plain.json", **plain)
    out = tunelab("run", "plain.json", "--storage", storage_url, cwd=folder)
    assert out.returncode == 0, out.stderr
    assert show("plain", storage_url)["best"]["result"] > quadratic.CONVERGED
    best_fixed = min(quadratic.train(1.0, lr, 16 * quadratic.STEPS_PER_UNIT) for lr in np.geomspace(1e-4, 0.1, 400))
    assert best_fixed > 2 * quadratic.CONVERGED, "no fixed learning rate converges, however well searched"

    export = tunelab("export", "pbt-quadratic", "--storage", storage_url)
    rows = list(csv.DictReader(io.StringIO(export.stdout)))
    assert [r["parent_id"] for r in rows] == [str(j["parent_id"] or "") for j in jobs]


SLOW = """
import sys, time
sys.path.insert(0, {folder!r})
time.sleep({sleep})
from tunelab import trial
import quadratic
if trial.load_config()["lr"] > {fail_above}:
    sys.exit("diverged")
quadratic.main()
"""


def _experiment(workdir: Path, name: str, fail_above: float = 1.0, sleep: float = 0.0, **extra) -> Path:
    (workdir / "train.py").write_text(SLOW.format(folder=str(EXAMPLE), fail_above=fail_above, sleep=sleep))
    args = {"population_size": 4, "max_budget": 5}
    return write_experiment(workdir, f"{name}.json", name=name, script="train.py", proposer="pbt",
                            proposer_args=args, n_parallel=2, random_seed=3, parameter_config=SPACE, **extra)


def _lineage_of(jobs: list[dict]) -> list[tuple]:
    return [(j["number"], j["config"], j["info"], j["result"]) for j in jobs]


def test_pbt_resumes_after_kill_9_with_no_generation_lost(workdir):
    reference = f"sqlite:///{workdir / 'reference.db'}"
    out = tunelab("run", str(_experiment(workdir, "pbt", sleep=0.2)), "--storage", reference)
    assert out.returncode == 0, out.stderr
    expected = show("pbt", reference)["jobs"]

    killed = f"sqlite:///{workdir / 'killed.db'}"
    before = kill_9_then_resume(_experiment(workdir, "pbt", sleep=0.2), killed, "pbt", 6)
    assert 6 <= len(before) < 20
    jobs = show("pbt", killed)["jobs"]
    assert _lineage_of(jobs) == _lineage_of(expected)
    assert sorted((j["info"]["generation"], j["info"]["member"]) for j in jobs) == \
        [(g, m) for g in range(5) for m in range(4)]
    _check_lineage(jobs)


def test_a_failed_member_is_replaced_by_a_better_one(workdir, storage_url):
    exp = _experiment(workdir, "pbtfail", fail_above=0.02, job_failure={"ignore_fail": True})
    out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    jobs = show("pbtfail", storage_url)["jobs"]
    failed = [j for j in jobs if j["status"] == "failed"]
    assert failed and all("diverged" in j["error"] for j in failed)
    for job in failed:
        generation, member = job["info"]["generation"], job["info"]["member"]
        if generation < 4:
            (after,) = [j for j in jobs if j["info"]["generation"] == generation + 1 and j["info"]["member"] == member]
            assert after["info"]["parent"] != job["number"] and after["parent_id"] is not None
    assert len(jobs) == 4 * 5
    assert min(j["result"] for j in jobs if j["status"] == "finished") < 1.0


NNI_TRIAL = """
import json, os, sys
sys.path.insert(0, {folder!r})
import tunelab.compat.nni as nni
import quadratic

params = {{"epochs": 1}}
params.update(nni.get_next_parameter())
load = os.path.join(params["load_checkpoint_dir"], "state.json")
remaining = json.load(open(load))["remaining"] if os.path.isfile(load) else 1.0
for epoch in range(params["epochs"]):
    remaining = quadratic.train(remaining, params["lr"], quadratic.STEPS_PER_UNIT)
    nni.report_intermediate_result(remaining)
os.makedirs(params["save_checkpoint_dir"], exist_ok=True)
json.dump({{"remaining": remaining}}, open(os.path.join(params["save_checkpoint_dir"], "state.json"), "w"))
nni.report_final_result(remaining)
"""

NNI_CONFIG = """
experimentName: nni-pbt
trialCommand: python3 mnist.py
trialCodeDirectory: .
trialConcurrency: 2
maxTrialNumber: 12
searchSpace:
  lr: {_type: loguniform, _value: [0.0001, 0.1]}
tuner:
  name: PBTTuner
  classArgs: {optimize_mode: minimize, population_size: 4, all_checkpoint_dir: /not/needed}
trainingService: {platform: local}
"""


def test_an_nni_pbt_trial_runs_unchanged_on_tunelab(workdir, storage_url):
    (workdir / "mnist.py").write_text(NNI_TRIAL.format(folder=str(EXAMPLE)))
    (workdir / "config.yml").write_text(NNI_CONFIG)
    out = tunelab("run", "config.yml", "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    jobs = show("nni-pbt", storage_url)["jobs"]
    assert len(jobs) == 12 and all(j["status"] == "finished" for j in jobs)
    assert [j["info"]["generation"] for j in jobs] == [0] * 4 + [1] * 4 + [2] * 4
    by_number = {j["number"]: j for j in jobs}
    quadratic = _quadratic()
    for job in jobs[4:]:
        parent = by_number[job["info"]["parent"]]
        assert job["parent_id"] == parent["id"]
        trained_on = quadratic.train(parent["result"], job["config"]["lr"], quadratic.STEPS_PER_UNIT)
        assert job["result"] == trained_on, "the parent's checkpoint was not the one loaded"
