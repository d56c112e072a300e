"""Smaller promises of the foundation: init, durations, the decorator, the function API,
the light trial side, the wire format and exported names."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import show, start_run, tunelab, write, write_experiment
from tunelab import _protocol as protocol
from tunelab.exceptions import SpecError
from tunelab.loader import load_experiment
from tunelab.space import Choice, Constant, Float, Int, Ordinal, Space, param_from_dict


def test_max_duration_ends_the_experiment_and_keeps_finished_jobs(workdir, storage_url, script):
    script("import time\ntime.sleep(0.5)\nprint('#Auptimizer:1')\n")
    exp = write_experiment(workdir, name="short", script="train.py", n_samples=1000, n_parallel=2,
                           max_duration="3s", parameter_config=[{"name": "x", "range": [0, 1]}])
    start = time.monotonic()
    out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 0, out.stderr
    assert time.monotonic() - start < 15
    assert "max_duration reached" in out.stdout
    jobs = show("short", storage_url)["jobs"]
    assert 2 <= sum(j["status"] == "finished" for j in jobs) < 20


def test_init_writes_a_valid_file_from_flags(workdir, storage_url, script):
    script("import json, sys\nc = json.load(open(sys.argv[1]))\nprint(f\"#Auptimizer:{c['lr'] * c['units']}\")\n")
    for fmt in ("json", "yaml", "toml"):
        out = tunelab("init", "--output", f"e.{fmt}", "--name", "made", "--script", "train.py",
                      "--param", "lr:float:0.001:0.1:log", "--param", "units:int:8:64",
                      "--param", "opt:choice:adam,sgd", "--n-samples", "3", "--target", "max",
                      stdin=subprocess.DEVNULL)
        assert out.returncode == 0, out.stderr
        assert tunelab("validate", f"e.{fmt}").returncode == 0
    specs = [load_experiment(workdir / f"e.{fmt}").model_dump(exclude={"workingdir"}) for fmt in ("json", "yaml", "toml")]
    assert specs[0] == specs[1] == specs[2], "the three formats say the same experiment"
    assert tunelab("run", "e.toml", "--storage", storage_url).returncode == 0
    data = show("made", storage_url)
    assert len(data["jobs"]) == 3 and data["experiment"]["spec"]["target"] == "max"
    again = tunelab("init", "--output", "e.json", "--param", "x:float:0:1", stdin=subprocess.DEVNULL)
    assert again.returncode == 2 and "--force" in again.stderr
    bad = tunelab("init", "--output", "f.json", "--param", "x:float:zero", stdin=subprocess.DEVNULL)
    assert bad.returncode == 2 and "--param" in bad.stderr


def test_decorated_function_runs_as_a_script_and_by_hand(workdir, storage_url):
    write(workdir / "train.py", """
        from tunelab import trial

        @trial.objective
        def main(lr: float = 0.1, units: int = 32) -> float:
            return (lr - 0.01) ** 2 + units / 1000

        if __name__ == "__main__":
            main()
    """)
    by_hand = subprocess.run([sys.executable, "train.py"], capture_output=True, text=True, cwd=workdir)
    assert by_hand.returncode == 0
    assert json.loads(by_hand.stdout.removeprefix(protocol.PREFIX))["value"] == pytest.approx(0.0081 + 0.032)
    exp = write_experiment(workdir, name="deco", script="train.py", n_samples=3, parameter_config=[
        {"name": "lr", "range": [0.001, 0.1], "log": True}, {"name": "units", "type": "int", "range": [8, 64]}])
    assert tunelab("run", str(exp), "--storage", storage_url).returncode == 0
    for job in show("deco", storage_url)["jobs"]:
        c = job["config"]
        assert job["result"] == pytest.approx((c["lr"] - 0.01) ** 2 + c["units"] / 1000)


def test_function_objectives_run_in_parallel_worker_processes(workdir, storage_url):
    write(workdir / "objectives.py", """
        import os, time

        def slow(config):
            time.sleep(0.5)
            return {"value": config["x"] ** 2, "pid": os.getpid()}

        def broken(config):
            if config["x"] > 0:
                raise ValueError("positive x")
            return config["x"]
    """)
    sys.path.insert(0, str(workdir))
    try:
        import objectives

        import tunelab.api as api

        result = api.run({"name": "fn", "n_samples": 6, "n_parallel": 2, "random_seed": 0,
                          "parameter_config": [{"name": "x", "range": [-1, 1]}]},
                         storage=storage_url, objective=objectives.slow)
        assert len({j.extra["pid"] for j in result.jobs}) == 2
        spans = sorted((j.attempts[-1].started, j.attempts[-1].ended) for j in result.jobs)
        assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:])), \
            "function jobs did not run in parallel: no two attempts overlap in time"
        assert all(j.value == pytest.approx(j.config["x"] ** 2) for j in result.jobs)
        failing = api.run({"name": "fn-broken", "n_samples": 6, "random_seed": 0, "job_failure": {"ignore_fail": True},
                           "parameter_config": [{"name": "x", "range": [-1, 1]}]},
                          storage=storage_url, objective=objectives.broken)
        for job in failing.jobs:
            assert (job.status == "failed") == (job.config["x"] > 0)
            if job.status == "failed":
                assert job.error == "ValueError: positive x"
                assert "Traceback" in Path(job.attempts[-1].folder, "stderr").read_text()
    finally:
        sys.path.remove(str(workdir))


def test_the_trial_side_imports_nothing_heavy():
    code = ("import sys, tunelab.trial, tunelab.compat.aup, tunelab.compat.nni; "
            "heavy = {'numpy', 'sqlalchemy', 'typer', 'dask', 'pandas', 'scipy', 'pydantic', 'rich'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_training_script_importing_tunelab_trial_starts_on_the_bare_standard_library():
    """Every job pays for this import before its own work: no typing, dataclasses or inspect."""
    code = ("import sys; before = set(sys.modules); import tunelab.trial; "
            "print(sorted({'typing', 'dataclasses', 'inspect', 'ast'} & (set(sys.modules) - before)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("module", ["tunelab", "tunelab.proposers", "tunelab.stoppers", "tunelab.storage", "tunelab.dashboard",
                                    "tunelab.executors", "tunelab.trial"])
def test_public_names_are_exported_and_importable(module):
    import importlib

    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(set(mod.__all__))
    for name in mod.__all__:
        assert getattr(mod, name) is not None
    public = {n for n in vars(mod) if not n.startswith("_") and n != "annotations"
              and not isinstance(getattr(mod, n), type(sys))}
    assert public <= set(mod.__all__) | {"TYPE_CHECKING", "Any", "Callable", "importlib", "functools", "inspect",
                                         "json", "os", "sys", "protocol"}


def test_report_round_trip_through_the_wire_format():
    for report in (protocol.Report("final", value=0.5, extra={"acc": 0.9}),
                   protocol.Report("intermediate", value=1.5, step=3), protocol.Report("extra", extra={"t": 2.0})):
        line = report.to_json()
        assert protocol.parse_line(line) == report
        assert protocol.parse_line(protocol.PREFIX + line) == report
    assert protocol.parse_line("#Auptimizer:0.25,3,4", ["a", "b"]) == protocol.Report(
        "final", value=0.25, extra={"a": 3.0, "b": 4.0})
    assert protocol.parse_line("epoch 3 loss 0.1") is None
    for bad in ('{"kind": "final"}', '{"kind": "nope", "value": 1}', '{"kind": "intermediate", "value": 1}',
                "#Auptimizer:abc", "{not json"):
        with pytest.raises(protocol.ProtocolError):
            protocol.parse_line(bad)
    assert math.isnan(protocol.parse_line("#Auptimizer:nan").value)


@pytest.mark.parametrize("param", [
    Float("a", 0.1, 10, log=True), Float("b", -1, 1, step=0.25), Int("c", 1, 1000, log=True), Int("d", 0, 10, step=5),
    Choice("e", ["x", 2, True]), Ordinal("f", [16, 32, 64]), Constant("g", "k")])
def test_every_kind_samples_valid_values_and_round_trips(param):
    rng = np.random.default_rng(0)
    for _ in range(200):
        value = param.sample(rng)
        assert param.validate(value) == value
        assert param.from_unit(param.to_unit(value)) == pytest.approx(value) if not isinstance(value, str) else True
        assert 0.0 <= param.to_unit(value) <= 1.0
    assert param_from_dict(json.loads(json.dumps(param.to_dict()))) == param


def test_kinds_reject_broken_invariants_with_the_rule_and_values():
    with pytest.raises(ValueError, match=r"`low < high` must hold, but got \(low=5, high=1\)"):
        Float("x", 5, 1)
    with pytest.raises(ValueError, match="log-scale parameter needs `low > 0`"):
        Int("x", 0, 4, log=True)
    with pytest.raises(ValueError, match="must not repeat"):
        Choice("x", ["a", "a"])
    with pytest.raises(ValueError, match="must lie in"):
        Float("x", 0, 1).validate(2)


def test_conditional_space_samples_and_validates_only_active_parameters():
    space = Space([Choice("opt", ["adam", "sgd"]), Float("momentum", 0, 0.99, when={"opt": ["sgd"]}),
                   Float("beta", 0.8, 0.999, when={"opt": "adam"})])
    rng = np.random.default_rng(1)
    for _ in range(50):
        config = space.sample(rng)
        assert ("momentum" in config) == (config["opt"] == "sgd")
        assert ("beta" in config) == (config["opt"] == "adam")
        assert space.validate(config) == config
        assert space.from_unit(space.to_unit(config)) == pytest.approx(config)
    with pytest.raises(SpecError, match="inactive unless"):
        space.validate({"opt": "adam", "momentum": 0.5, "beta": 0.9})
    assert len(list(space.grid({"momentum": 3, "beta": 2}))) == 5


def test_usage_errors_are_one_line_and_exit_2(workdir):
    for args in (["ls", "extra-arg"], ["show"], ["export", "x", "--format", "xml"], ["nosuchcommand"]):
        out = tunelab(*args)
        assert out.returncode == 2, (args, out.stderr)
        assert "Traceback" not in out.stderr


def test_validate_checks_what_run_checks(workdir):
    space = [{"name": "x", "range": [0, 1]}]
    bad_option = write_experiment(workdir, filename="a.json", script="t.py", n_samples=3, proposer="sequence",
                                  proposer_args={"points": 0}, parameter_config=space)
    endless = write_experiment(workdir, filename="b.json", script="t.py", proposer="asha",
                               proposer_args={"min_budget": 1, "max_budget": 9}, parameter_config=space)
    for path, message in ((bad_option, "`points` must be at least 1"), (endless, "n_samples: missing")):
        for command in ("validate", "run"):
            out = tunelab(command, str(path))
            assert out.returncode == 2 and message in out.stderr, (command, out.stderr)


def test_ctrl_c_keeps_results_already_reported(workdir, storage_url, script):
    script("""
        import json, sys, time
        x = json.load(open(sys.argv[1]))["x"]
        print(f"#Auptimizer:{x}", flush=True)
        time.sleep(30)
    """)
    exp = write_experiment(workdir, name="late", script="train.py", n_samples=4, n_parallel=2,
                           parameter_config=[{"name": "x", "range": [0, 1]}])
    proc = start_run(exp, storage_url, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        folders = list(workdir.glob("db/jobs/*/job-*/attempt-1/stdout"))
        if len(folders) == 2 and all(f.read_text().startswith("#Auptimizer:") for f in folders):
            break
        time.sleep(0.1)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    jobs = show("late", storage_url)["jobs"]
    assert [j["status"] for j in jobs] == ["finished", "finished"]
    assert all(j["result"] == pytest.approx(j["config"]["x"]) for j in jobs)


def test_extra_results_never_overwrite_fixed_columns(workdir, storage_url, script):
    script("from tunelab import trial\ntrial.report(1.0, budget=7.0, status=3.0, x=5.0)\n")
    exp = write_experiment(workdir, name="cols", script="train.py", n_samples=1,
                           parameter_config=[{"name": "x", "range": [0, 1]}])
    assert tunelab("run", str(exp), "--storage", storage_url).returncode == 0
    import tunelab.api as api

    (row,) = api.load("cols", storage=storage_url).rows()
    assert row["status"] == "finished" and row["budget"] is None and 0 <= row["x"] <= 1
    assert (row["extra.budget"], row["extra.status"], row["extra.x"]) == (7.0, 3.0, 5.0)
