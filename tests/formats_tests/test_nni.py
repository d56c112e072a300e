"""NNI experiment configs (v3 and legacy v1): every seed config key by key, and end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import SHARED, show, tunelab, write
from tunelab.compat.nni import ENV_LAYOUT
from tunelab.exceptions import UserError
from tunelab.formats import nni
from tunelab.loader import load_experiment, translate

SEEDS = SHARED / "seed-examples" / "nni"
CONFIGS = sorted(SEEDS.rglob("*.yml"))
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nni_mnist"


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_seed_config_is_detected_and_translated(path: Path) -> None:
    data = _load(path)
    assert nni.detect(data, path)
    if data.get("useAnnotation"):
        with pytest.raises(UserError, match=r"^trialCommand: annotated script 'mnist.py' does not exist"):
            translate(data, path)
        return
    spec = translate(data, path)
    assert spec["command"] == ["python3", "mnist.py"]
    assert spec["workingdir"] == "."
    assert spec["n_parallel"] == data["trialConcurrency"]
    assert spec["target"] == "max"
    assert spec["proposer"] in {"tpe", "hyperband"}
    load_experiment(path)


def test_v3_nested_config_key_by_key() -> None:
    path = SEEDS / "mnist-nested-search-space" / "config.yml"
    spec = translate(_load(path), path)
    assert {k: v for k, v in spec.items() if k not in ("parameter_config", "runtime_args")} == {
        "name": "mnist-nested-search-space", "workingdir": ".", "command": ["python3", "mnist.py"],
        "proposer": "tpe", "target": "max", "n_parallel": 2, "n_samples": 100, "max_duration": "1h"}
    assert json.loads(spec["runtime_args"]["env"][ENV_LAYOUT])["layer0"] == {"path": ["layer0"], "nested": True}
    assert load_experiment(path).max_duration == 3600


def test_v1_advisor_config_key_by_key() -> None:
    path = SEEDS / "mnist-advisor" / "config_hyperband.yml"
    spec = translate(_load(path), path)
    assert {k: v for k, v in spec.items() if k != "parameter_config"} == {
        "name": "example_mnist", "workingdir": ".", "command": ["python3", "mnist.py"], "proposer": "hyperband",
        "target": "max", "proposer_args": {"R": 100, "eta": 3, "budget_name": "TRIAL_BUDGET"}, "n_parallel": 2,
        "n_samples": 10000, "max_duration": "100h"}
    assert [e["name"] for e in spec["parameter_config"]] == ["dropout_rate", "conv_size", "hidden_size",
                                                             "learning_rate"]


def test_v3_inline_space_and_assessor() -> None:
    path = SEEDS / "mnist-pytorch" / "config_assessor.yml"
    spec = translate(_load(path), path)
    assert spec["resource_args"] == {"early_stop": {"nni": "Curvefitting", "epoch_num": 20, "threshold": 0.9},
                                     "track_intermediate_results": True}
    assert spec["parameter_config"][0] == {"name": "momentum", "type": "float", "range": [0, 1]}


BASE = {"trialCommand": "python3 train.py --epochs 3 --name 'a b'", "trialConcurrency": 1,
        "searchSpace": {"x": {"_type": "uniform", "_value": [0, 1]}}, "tuner": {"name": "TPE"}}


def test_command_is_split_without_a_shell() -> None:
    assert translate(dict(BASE), Path("c.yml"))["command"] == ["python3", "train.py", "--epochs", "3", "--name", "a b"]


@pytest.mark.parametrize("name,proposer", [("TPE", "tpe"), ("Random", "random"), ("Anneal", "anneal"),
                                           ("Evolution", "evolution"), ("GridSearch", "sequence"), ("GP", "gp"),
                                           ("GPTuner", "gp"), ("Metis", "gp"), ("Hyperband", "hyperband"),
                                           ("BOHB", "bohb")])
def test_tuner_names(name: str, proposer: str) -> None:
    spec = translate({**BASE, "tuner": {"name": name, "classArgs": {"optimize_mode": "minimize", "seed": 4}}},
                     Path("c.yml"))
    assert (spec["proposer"], spec["target"], spec["random_seed"]) == (proposer, "min", 4)


@pytest.mark.parametrize("name,nearest", [("DNGO", "gp"), ("PPOTuner", "evolution"),
                                          ("NetworkMorphism", "tpe")])
def test_tuners_without_counterpart_name_the_nearest(name: str, nearest: str) -> None:
    with pytest.raises(UserError, match=rf"^tuner.name: NNI's '{name}' has no tunelab counterpart yet; "
                                        rf"the nearest is '{nearest}'"):
        translate({**BASE, "tuner": {"name": name}}, Path("c.yml"))


def test_evolution_population_size_and_limits() -> None:
    spec = translate({**BASE, "tuner": {"name": "Evolution", "classArgs": {"population_size": 20}},
                      "maxTrialDuration": "30m", "maxTrialNumber": 7, "trialGpuNumber": 2,
                      "trainingService": {"platform": "local", "gpuIndices": "0,1"}}, Path("c.yml"))
    assert spec["proposer_args"] == {"population_size": 20}
    assert (spec["job_timeout"], spec["n_samples"], spec["resource"]) == ("30m", 7, "gpu")
    assert spec["resource_args"] == {"gpus_per_job": 2, "gpus": [0, 1]}


def test_batch_tuner_runs_the_listed_configs() -> None:
    space = {"combine_params": {"_type": "choice", "_value": [{"lr": 0.1, "units": 8}, {"lr": 0.01, "units": 8}]}}
    spec = translate({**BASE, "searchSpace": space, "tuner": {"name": "BatchTuner"}}, Path("c.yml"))
    assert spec["proposer_args"] == {"configs": space["combine_params"]["_value"]}
    assert spec["parameter_config"] == [{"name": "lr", "type": "choice", "range": [0.1, 0.01]},
                                        {"name": "units", "type": "choice", "range": [8]}]


def test_remote_platform_and_unknown_keys_fail_in_one_line() -> None:
    with pytest.raises(UserError, match=r"^trainingService.platform: 'remote' is not run directly; run on your SSH hosts through Dask"):
        translate({**BASE, "trainingService": {"platform": "remote"}}, Path("c.yml"))
    with pytest.raises(UserError, match=r"^trainingServicePlatform|^trainingService.platform: 'pai'"):
        translate({**BASE, "trainingServicePlatform": "pai"}, Path("c.yml"))
    with pytest.raises(UserError, match=r"^maxTrialNumbr: not an NNI experiment key"):
        translate({**BASE, "maxTrialNumbr": 3}, Path("c.yml"))


def test_search_space_file_is_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "space.json").write_text(json.dumps({"x": {"_type": "choice", "_value": [1, 2]}}))
    config = tmp_path / "config.yml"
    data = {k: v for k, v in BASE.items() if k != "searchSpace"}
    config.write_text(yaml.safe_dump({**data, "searchSpaceFile": "sub/space.json", "trialCodeDirectory": "sub"}))
    spec = load_experiment(config)
    assert spec.workingdir == str((tmp_path / "sub").resolve())
    assert spec.parameter_config == [{"name": "x", "type": "choice", "range": [1, 2]}]


@pytest.fixture
def example(workdir: Path) -> Path:
    return Path(shutil.copytree(EXAMPLE, workdir / "nni_mnist", ignore=shutil.ignore_patterns("__pycache__")))


def test_nested_space_reaches_the_trial_in_nni_shape(example: Path, storage_url: str) -> None:
    out = tunelab("run", "config_nested.yml", "--storage", storage_url, "--plain", cwd=example, timeout=240)
    assert out.returncode == 0, out.stderr
    result = show("nni_nested", storage_url, cwd=example)
    assert [job["status"] for job in result["jobs"]] == ["finished"] * 6
    for job in result["jobs"]:
        assert set(job["config"]) in ({"model", "model/svm/C"}, {"model", "model/mlp/units"})


def test_v3_config_runs_with_intermediate_and_extra_results(example: Path, storage_url: str) -> None:
    config = yaml.safe_load((example / "config.yml").read_text())
    del config["assessor"]
    write(example / "config_plain.yml", yaml.safe_dump({**config, "maxTrialNumber": 3}))
    # seeded: 3 unseeded random configs all train below 0.5 accuracy once in a while
    out = tunelab("run", "config_plain.yml", "--storage", storage_url, "--plain", "--seed", "1", cwd=example,
                  timeout=240)
    assert out.returncode == 0, out.stderr
    result = show("nni_mnist", storage_url, cwd=example)
    assert len(result["jobs"]) == 3 and result["best"]["result"] > 0.5
    assert "train_accuracy" in result["best"]["extra_results"]


def test_v3_config_with_medianstop_assessor_runs(example: Path, storage_url: str) -> None:
    out = tunelab("run", "config.yml", "--storage", storage_url, "--plain", cwd=example, timeout=240)
    assert out.returncode == 0, out.stderr
    assert show("nni_mnist", storage_url, cwd=example)["experiment"]["status"] == "finished"


def test_annotated_v1_config_runs_and_leaves_the_script_alone(example: Path, storage_url: str) -> None:
    before = (example / "annotated.py").read_text()
    out = tunelab("run", "config_annotation.yml", "--storage", storage_url, "--plain", cwd=example, timeout=240)
    assert out.returncode == 0, out.stderr
    result = show("nni_annotation", storage_url, cwd=example)
    assert [job["status"] for job in result["jobs"]] == ["finished"] * 4
    assert all(set(job["config"]) == {"C", "kernel"} for job in result["jobs"])
    assert (example / "annotated.py").read_text() == before


def test_pbt_tuner_maps_to_pbt_with_its_keys() -> None:
    args = {"optimize_mode": "maximize", "all_checkpoint_dir": "/shared/ckpt", "population_size": 6,
            "factor": 0.25, "resample_probability": 0.1, "fraction": 0.3}
    for name in ("PBTTuner", "PBT"):
        spec = translate({**BASE, "maxTrialNumber": 60, "tuner": {"name": name, "classArgs": dict(args)}},
                         Path("c.yml"))
        assert (spec["proposer"], spec["target"], spec["n_samples"]) == ("pbt", "max", 60)
        assert spec["proposer_args"] == {"population_size": 6, "resample_probability": 0.1, "quantile_fraction": 0.3,
                                         "perturbation_factors": [1.25, 0.75], "budget_name": "TRIAL_BUDGET"}
        assert spec["runtime_args"]["env"] == {"TUNELAB_NNI_PBT": "1"}
    defaults = translate({**BASE, "tuner": {"name": "PBTTuner"}}, Path("c.yml"))["proposer_args"]
    assert (defaults["population_size"], defaults["quantile_fraction"]) == (10, 0.2)
    assert defaults["perturbation_factors"] == pytest.approx([1.2, 0.8])
    with pytest.raises(UserError, match=r"^tuner.classArgs.factor: expected a number in \(0, 1\), got 2"):
        translate({**BASE, "tuner": {"name": "PBTTuner", "classArgs": {"factor": 2}}}, Path("c.yml"))
