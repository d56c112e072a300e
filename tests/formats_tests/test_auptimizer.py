"""Auptimizer experiment.json files: every seed example, key by key, and end to end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import SHARED, show, tunelab, write
from tunelab.exceptions import SpecError, UserError
from tunelab.formats import auptimizer
from tunelab.loader import load_experiment, read_document, translate

SEEDS = SHARED / "seed-examples" / "auptimizer"
FILES = sorted(SEEDS.rglob("*.json"))
REMOTE_ERROR = "resource: {!r} is not run directly; "
PASSTHROUGH = ("script", "n_parallel", "random_seed", "resource", "resource_args")
PROPOSERS = {"random": "random", "sequence": "sequence", "spearmint": "gp", "hyperopt": "tpe",
             "hyperband": "hyperband", "bohb": "bohb"}


def _id(path: Path) -> str:
    return str(path.relative_to(SEEDS))


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_every_seed_file_translates_key_by_key(path: Path) -> None:
    data = json.loads(path.read_text())
    if data.get("resource") == "aws":
        with pytest.raises(UserError) as err:
            translate(data, path)
        assert str(err.value).startswith(REMOTE_ERROR.format(data["resource"]))
        assert '"resource": "dask"' in str(err.value) and "docs/cluster.md" in str(err.value)
        return
    if data.get("resource") == "node":  # its hosts live in Auptimizer's setup: the file must name them
        data = {k: v for k, v in data.items() if k != "runtime_args"}  # shell snippets, refused on their own
        with pytest.raises(UserError, match=r"^resource_args\.nodes: None names no host; .*node\.txt"):
            translate(data, path)
        spec = translate({**data, "resource_args": {**data["resource_args"], "nodes": ["me@10.0.0.5:2222 ~/.ssh/k"]}},
                         path)
        assert spec["resource"] == "dask" and spec["resource_args"]["cluster"]["hosts"] == ["10.0.0.5"] * 2
        assert spec["resource_args"]["cluster"]["connect_options"][0]["port"] == 2222
        return
    if data.get("proposer") == "eas":
        with pytest.raises(UserError, match=r"^proposer: 'eas' .* nearest"):
            translate(data, path)
        return
    if not auptimizer.detect(data, path):
        assert set(data) == {"name", "drop_out", "learning_rate"}  # hpo_mnist/demo.json is a job config
        return
    spec = translate(data, path)
    assert spec["name"] == Path(data["name"]).stem
    for key in PASSTHROUGH:
        assert spec.get(key) == data.get(key), key
    if auptimizer.is_auptimizer_only(data):  # Auptimizer's path rule: from the folder the user starts in
        assert spec["workingdir"] == os.path.abspath(os.path.expanduser(data.get("workingdir", ".")))
    else:
        assert spec.get("workingdir") == data.get("workingdir")
    if "job_failure" in data:
        assert spec["job_failure"] == {"job_retries": 3, **data["job_failure"]}  # Auptimizer's code default
    assert spec["proposer"] == PROPOSERS[data.get("proposer", "random")]
    assert spec["target"] == data.get("target", "max")
    assert [{k: v for k, v in p.items() if k != "size"} for p in data.get("parameter_config", [])] == \
        spec.get("parameter_config", [])
    assert "engine" not in spec and "n_iterations" not in spec and "max_iter" not in spec


@pytest.mark.parametrize("path", [p for p in FILES if json.loads(p.read_text()).get("resource") not in
                                  ("node", "aws") and json.loads(p.read_text()).get("proposer") != "eas"
                                  and "script" in json.loads(p.read_text())
                                  and "parameter_config" in json.loads(p.read_text())], ids=_id)
def test_every_runnable_seed_file_is_a_valid_spec(path: Path) -> None:
    spec = load_experiment(path)
    assert spec.workingdir == str(path.parent.resolve()) or Path(spec.workingdir).is_absolute()


def test_hyperopt_engines_map_to_proposers() -> None:
    base = {"name": "./x.json", "script": "s.py", "proposer": "hyperopt", "parameter_config": []}
    for engine, proposer in (("tpe", "tpe"), ("anneal", "anneal"), ("rand", "random"), ("random", "random")):
        assert translate({**base, "engine": engine}, Path("x.json"))["proposer"] == proposer
    with pytest.raises(UserError, match="^engine: hyperopt engine 'atpe' is unknown"):
        translate({**base, "engine": "atpe"}, Path("x.json"))


def test_hyperband_and_bohb_keys_move_into_proposer_args() -> None:
    path = SEEDS / "2dfunc_diff_opt" / "experiment_hyperband.json"
    spec = translate(read_document(path), path)
    assert spec["proposer_args"] == {"max_iter": 3, "engine": "random", "iterations": 1, "budget_name": "n_iterations"}
    path = SEEDS / "hpo_mnist" / "exp_bohb.json"
    spec = translate(read_document(path), path)
    assert spec["proposer_args"] == {
        "iterations": 16, "top_n_percent": 15, "num_samples": 64, "random_fraction": 0.3333333333333333,
        "bandwidth_factor": 3, "min_bandwidth": 0.001, "eta": 3, "min_budget": 10, "max_budget": 100,
        "budget_name": "n_iterations"}  # min_points_in_model "" means HpBandSter's default: dropped


def test_documented_defaults_apply_to_auptimizer_files() -> None:
    path = SEEDS / "job_failure_control" / "experiment_no_nsample.json"
    assert load_experiment(path).n_samples == 10
    assert load_experiment(SEEDS / "job_failure_control" / "experiment_no_proposer.json").proposer == "random"
    assert translate({"name": "./a/b.json", "script": "s.py", "proposer": "random",
                      "parameter_config": []}, Path("b.json"))["target"] == "max"


def test_a_job_failure_block_retries_three_times_as_auptimizer_code_does() -> None:
    spec = load_experiment(SEEDS / "job_failure_control" / "experiment_job_ignore_fail.json")
    assert (spec.job_failure.job_retries, spec.job_failure.ignore_fail) == (3, True)
    spec = load_experiment(SEEDS / "job_failure_control" / "experiment_test.json")
    assert (spec.job_failure.job_retries, spec.job_failure.ignore_fail) == (0, False)
    spec = load_experiment(SEEDS / "job_failure_control" / "experiment_job_retries.json")
    assert (spec.job_failure.job_retries, spec.job_failure.ignore_fail) == (3, False)


def test_missing_required_keys_are_reported() -> None:
    with pytest.raises(SpecError, match="parameter_config: missing"):
        load_experiment(SEEDS / "job_failure_control" / "experiment_no_param_config.json")
    with pytest.raises(SpecError, match="script: missing"):
        load_experiment(SEEDS / "job_failure_control" / "experiment_no_script.json")


def test_identity_on_native_files() -> None:
    native = {"name": "quad", "script": "quad.py", "proposer": "random", "n_samples": 5,
              "parameter_config": [{"name": "x", "type": "float", "range": [0, 1]}], "resource": "cpu"}
    assert translate(dict(native), Path("quad.json")) == native


def test_early_stop_passes_through_unchanged() -> None:
    path = SEEDS / "early_stopping" / "mnist_keras" / "exp_BOHB_curve_fitting.json"
    data = read_document(path)
    assert translate(data, path)["resource_args"]["early_stop"] == data["resource_args"]["early_stop"]


def test_spearmint_size_above_one_is_refused() -> None:
    data = {"name": "./s.json", "script": "s.py", "proposer": "spearmint",
            "parameter_config": [{"name": "x", "type": "float", "range": [0, 1], "size": 2}]}
    with pytest.raises(UserError, match=r"^parameter_config.x.size: only size 1"):
        translate(data, Path("s.json"))


def test_shell_snippets_are_refused() -> None:
    data = {"name": "./s.json", "script": "s.py", "proposer": "random", "parameter_config": [],
            "runtime_args": {"prescript": "source .profile"}}
    with pytest.raises(UserError, match=r"^runtime_args.prescript: tunelab never runs shell snippets"):
        translate(data, Path("s.json"))


def test_auptimizer_script_runs_end_to_end(workdir: Path, storage_url: str) -> None:
    write(workdir / "rosenbrock_hpo.py", """
        #!/usr/bin/env python
        import sys
        from tunelab.compat.aup import BasicConfig, print_result

        config = BasicConfig().load(sys.argv[1])
        print_result((1 - config.x) ** 2 + 100 * (config.y - config.x ** 2) ** 2)
    """)
    seed = read_document(SEEDS / "2dfunc_diff_opt" / "experiment_random.json")
    (workdir / "experiment_random.json").write_text(json.dumps({**seed, "n_samples": 4}))
    out = tunelab("run", "experiment_random.json", "--storage", storage_url, "--plain", cwd=workdir)
    assert out.returncode == 0, out.stderr
    result = show("experiment_random", storage_url, cwd=workdir)
    assert [job["status"] for job in result["jobs"]] == ["finished"] * 4
    best = result["best"]["config"]
    assert result["best"]["result"] == pytest.approx((1 - best["x"]) ** 2 + 100 * (best["y"] - best["x"] ** 2) ** 2)


def test_node_resource_without_its_hosts_fails_with_one_line_and_exit_2(workdir: Path, storage_url: str) -> None:
    seed = json.loads((SEEDS / "2dfunc_diff_res" / "exp_node.json").read_text())
    seed.pop("runtime_args")  # its shell snippets are refused on their own
    out = tunelab("run", str(write(workdir / "exp_node.json", json.dumps(seed))), "--storage", storage_url,
                  cwd=workdir)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "resource_args.nodes: None names no host" in out.stderr and "user@host[:port] [key]" in out.stderr
    bad = write(workdir / "bad.json", json.dumps({**seed, "resource_args": {"nodes": ["10.0.0.5"]}}))
    out = tunelab("run", str(bad), "--storage", storage_url, cwd=workdir)
    assert out.returncode == 2 and "resource_args.nodes[0]: '10.0.0.5' is not a host" in out.stderr
