"""DeepHyper on tunelab: HpProblem type inference, Evaluator, CBO, results.csv and the CLI form."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import types
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tunelab.api
import tunelab.compat.deephyper as dh
from tunelab import _protocol as protocol
from tunelab.compat.deephyper import (
    CBO,
    Evaluator,
    ExperimentalDesignSearch,
    HpProblem,
    Job,
    RandomSearch,
    RegularizedEvolution,
)
from tunelab.compat.deephyper.evaluator import KWARGS_ENV, RUN_ENV, load, reference, run_job, translate_output
from tunelab.compat.deephyper.objectives import multi_objective_spec
from tunelab.compat.deephyper.search import results_frame
from tunelab.exceptions import JobFailed, SpecError, UserError
from tunelab.formats.deephyper import spec_from_problem_file
from tunelab.spec import parse_spec
from tunelab.storage import Storage


def run(job):
    """A run function of this module (importable by reference)."""
    return -job["x"] ** 2


def run_two(job):
    """Two objectives, as a tuple (DeepHyper's multi-objective form)."""
    return job["x"], -job["x"] ** 2


def entry(value, name="p", default_value=None):
    problem = HpProblem()
    problem.add_hyperparameter(value, name, default_value=default_value)
    (only,) = problem.parameter_config
    return only


# --- HpProblem: DeepHyper's inference table ------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ((0, 10), {"type": "int", "range": [0, 10], "log": False}),
    ((0.0, 10), {"type": "float", "range": [0.0, 10], "log": False}),
    ((0, 10.0), {"type": "float", "range": [0, 10.0], "log": False}),
    ((1, 100, "log-uniform"), {"type": "int", "range": [1, 100], "log": True}),
    ((1e-4, 1.0, "log-uniform"), {"type": "float", "range": [1e-4, 1.0], "log": True}),
    ((0.0, 1.0, "uniform"), {"type": "float", "range": [0.0, 1.0], "log": False}),
    (["relu", "tanh"], {"type": "choice", "range": ["relu", "tanh"]}),
    ([True, False], {"type": "choice", "range": [True, False]}),
    (["a", 1], {"type": "choice", "range": ["a", 1]}),
    ([16, 32, 64], {"type": "ordinal", "range": [16, 32, 64]}),
    ([0, 10], {"type": "ordinal", "range": [0, 10]}),  # a list is never a range
    ([0.1, 1, 2.5], {"type": "ordinal", "range": [0.1, 1, 2.5]}),
    (0.5, {"type": "constant", "value": 0.5}),
    ("adam", {"type": "constant", "value": "adam"}),
])
def test_types_are_inferred_from_the_range_as_deephyper_does(value, expected):
    assert entry(value) == {"name": "p", **expected}


@pytest.mark.parametrize("value", [
    (0, 10, "normal"), ("a", "b"), (1,), (1, 2, 3, 4), (5, 1), (0.0, 1.0, "log-uniform"), [], [1, None],
    np.array([1, 2]), {"low": 1}, {"mu": "a", "sigma": 1}, None])
def test_invalid_ranges_are_one_line_user_errors(value):
    with pytest.raises(UserError) as info:
        entry(value)
    assert "\n" not in str(info.value) and "'p'" in str(info.value)


def test_a_normal_prior_is_a_float_with_a_normal_prior():
    assert entry({"mu": 0.5, "sigma": 2.0}) == {"name": "p", "type": "float", "prior": "normal", "mu": 0.5,
                                                "sigma": 2.0}
    problem = HpProblem()
    problem.add_hyperparameter({"mu": -3.0, "sigma": 0.5}, "lr")
    assert problem.space.sample(np.random.default_rng(0))["lr"] == pytest.approx(-3.0, abs=3)
    with pytest.raises(UserError, match="integer normal prior .* write mu as a float"):
        entry({"mu": 0, "sigma": 1.0})


def test_configspace_conditions_become_when():
    import ConfigSpace as cs  # a test extra; HpProblem itself never needs it
    problem = HpProblem()
    x = problem.add_hyperparameter((0, 10), "x")
    units = problem.add_hyperparameter([16, 32], "units")
    kind = problem.add_hyperparameter(["a", "b", "c"], "kind")
    assert isinstance(x, cs.UniformIntegerHyperparameter) and isinstance(kind, cs.CategoricalHyperparameter)
    problem.add_condition(cs.NotEqualsCondition(x, kind, "c"))
    problem.add_conditions([cs.AndConjunction(cs.EqualsCondition(units, kind, "a"), cs.InCondition(units, x, [1, 2]))])
    assert [e["name"] for e in problem.parameter_config] == ["kind", "x", "units"]  # parents first
    assert problem.parameter_config[1]["when"] == {"kind": ["a", "b"]}
    assert problem.parameter_config[2]["when"] == {"kind": "a", "x": [1, 2]}
    with pytest.raises(UserError, match="GreaterThanCondition on 'x' is not supported"):
        problem.add_condition(cs.GreaterThanCondition(units, x, 3))
    other = cs.UniformFloatHyperparameter("elsewhere", 0.0, 1.0)
    with pytest.raises(UserError, match="the child 'elsewhere' is not a hyperparameter of this problem"):
        problem.add_condition(cs.EqualsCondition(other, kind, "a"))


def test_names_must_be_strings_and_unique():
    problem = HpProblem()
    with pytest.raises(UserError, match="must be a string"):
        problem.add_hyperparameter((0, 1), 3)
    problem.add_hyperparameter((0, 1), "x")
    with pytest.raises(UserError, match="added twice"):
        problem.add_hyperparameter((0, 2), "x")


def test_default_value_is_kept_and_checked():
    assert entry((0, 10), default_value=5) == {"name": "p", "type": "int", "range": [0, 10], "log": False,
                                               "default": 5}
    with pytest.raises(UserError, match="default_value"):
        entry((0, 10), default_value=50)


def test_add_dim_is_the_older_spelling():
    problem = HpProblem()
    problem.add_dim("units", (8, 64))
    problem.add_dim("act", ["relu", "tanh"])
    assert problem.hyperparameter_names == ["units", "act"] and len(problem) == 2
    assert problem.parameter_config[0]["type"] == "int"


def test_starting_points_become_initial_configs_and_are_checked():
    problem = HpProblem()
    problem.add_hyperparameter((0.0, 1.0), "x")
    problem.add_hyperparameter(["a", "b"], "c")
    problem.add_starting_point(x=0.5, c="b")
    assert problem.to_spec()["initial_configs"] == [{"x": 0.5, "c": "b"}]
    with pytest.raises(SpecError, match="add_starting_point.x"):
        problem.add_starting_point(x=2.0, c="a")
    with pytest.raises(SpecError, match="add_starting_point.c: missing"):
        problem.add_starting_point(x=0.1)


def test_configspace_objects_are_read_by_their_attributes():
    class UniformFloatHyperparameter:
        __module__ = "ConfigSpace.hyperparameters"

        def __init__(self):
            self.name, self.lower, self.upper, self.log = "lr", 1e-4, 1e-1, True

    problem = HpProblem()
    problem.add_hyperparameter(UniformFloatHyperparameter())
    assert problem.parameter_config == [{"name": "lr", "type": "float", "range": [1e-4, 1e-1], "log": True}]


# --- Evaluator, Job and the worker adapter ----------------------------------------------------

@pytest.mark.parametrize(("method", "kwargs", "workers"), [
    ("serial", None, 1), ("process", {"num_workers": 3}, 3), ("thread", {"num_workers": 2}, 2),
    ("ray", {"num_cpus": 4}, 4), ("process", None, 1), ("subprocess", {"num_workers": 2}, 2),
    ("mpicomm", {"num_workers": 3}, 3), ("mpipool", None, 1)])
def test_evaluator_create_sets_the_workers(method, kwargs, workers):
    assert Evaluator.create(run, method=method, method_kwargs=kwargs).num_workers == workers


def test_evaluator_is_deephyper_s_context_manager_and_under_mpirun_only_the_first_rank_gets_it(monkeypatch):
    with Evaluator.create(run, method="mpicomm") as evaluator:
        assert evaluator is not None and evaluator.num_workers == 1, "no launcher: this process is the root"
    for variables in ({"OMPI_COMM_WORLD_RANK": "{rank}", "OMPI_COMM_WORLD_SIZE": "4"},
                      {"PMI_RANK": "{rank}", "PMI_SIZE": "4"}):
        for name, value in variables.items():
            monkeypatch.setenv(name, value.format(rank=0))
        with Evaluator.create(run, method="mpicomm") as evaluator:
            assert evaluator.num_workers == 3, "DeepHyper's mpicomm: every rank but the root is a worker"
        with Evaluator.create(run, method="mpicomm", method_kwargs={"num_workers": 2}) as evaluator:
            assert evaluator.num_workers == 2, "a number the script gives is kept"
        with Evaluator.create(run, method="process", method_kwargs={"num_workers": 2}) as evaluator:
            assert evaluator is not None, "only mpicomm splits the ranks, as in DeepHyper"
        monkeypatch.setenv(next(iter(variables)), "2")
        with Evaluator.create(run, method="mpicomm") as evaluator:
            assert evaluator is None
        for name in variables:
            monkeypatch.delenv(name)


@pytest.mark.parametrize(("method", "kwargs", "match"), [
    ("dask", None, "not supported"), ("process", {"num_worker": 2}, "unknown"),
    ("process", {"num_workers": 0}, "positive int")])
def test_evaluator_create_errors(method, kwargs, match):
    with pytest.raises(UserError, match=match):
        Evaluator.create(run, method=method, method_kwargs=kwargs)


def test_evaluator_warns_about_ignored_options_and_refuses_closures():
    with pytest.warns(UserWarning, match="callbacks"):
        Evaluator.create(run, method="process", method_kwargs={"num_workers": 2, "callbacks": []})
    with pytest.raises(UserError, match="top-level function"):
        Evaluator.create(lambda job: 0.0)


def test_job_is_a_read_only_mapping_with_parameters_and_id():
    job = Job({"x": 2.0, "c": "a"}, job_id="4")
    assert job["x"] == 2.0 and dict(job) == {"x": 2.0, "c": "a"} and job.get("y", 1) == 1
    assert job.parameters == {"x": 2.0, "c": "a"} and job.id == "4" and len(job) == 2


@pytest.mark.parametrize(("output", "expected"), [
    (1.5, 1.5), (3, 3.0), (np.float64(2.5), 2.5),
    ({"objective": 0.7, "metadata": {"time": 3, "name": "x", "_private": 1}}, {"value": 0.7, "time": 3.0}),
    ({"objective": 0.7}, 0.7)])
def test_outputs_translate_to_tunelab_results(output, expected):
    assert translate_output(output) == expected


@pytest.mark.parametrize(("output", "message"), [
    ("F", "F"), ("F_out_of_memory", "F_out_of_memory"), ({"objective": "F_bad"}, "F_bad"),
    ("oops", "F: run returned"), ({"metadata": {}}, "F: run returned a dict without"), (float("nan"), "F: run must"),
    ((1.0, 2.0), "F: run returned 2 objectives, but the experiment has a single objective"),
    (None, "F: run must")])
def test_failures_raise_jobfailed(output, message):
    with pytest.raises(JobFailed) as info:
        translate_output(output)
    assert str(info.value).startswith(message)


def test_a_tuple_gives_the_objectives_in_order(monkeypatch):
    monkeypatch.setenv(protocol.ENV_OBJECTIVES, "accuracy,latency_ms")
    assert translate_output((0.9, 12)) == {"accuracy": 0.9, "latency_ms": 12.0}
    assert translate_output({"objective": [0.9, 12], "metadata": {"size": 3}}) == {
        "accuracy": 0.9, "latency_ms": 12.0, "size": 3.0}
    with pytest.raises(JobFailed, match="returned 3 objectives, but the experiment has 2 objectives"):
        translate_output((0.9, 12, 1))
    assert translate_output(0.5) == {"accuracy": 0.5, "latency_ms": 0.5}  # one value for every objective


def test_references_import_by_module_or_by_path(tmp_path):
    assert reference(run) == f"{__name__}:run"
    assert load(reference(run)) is run
    path = tmp_path / "userrun.py"
    path.write_text("def run(job):\n    return job['x'] + 1\n")
    fn = load(f"{path}:run")
    assert reference(fn) == f"{path.resolve()}:run"
    with pytest.raises(UserError, match="no attribute"):
        load(f"{path}:missing")
    with pytest.raises(UserError, match="module:function"):
        load("no_colon")


def test_run_job_calls_run_in_a_fresh_process_without_pickle(tmp_path):
    path = tmp_path / "userrun.py"
    path.write_text("def run(job, scale=1):\n    return {'objective': scale * job['x'], 'metadata': {'id': int(job.id)}}\n")
    env = {**os.environ, RUN_ENV: f"{path}:run", KWARGS_ENV: json.dumps({"scale": 3}), "TUNELAB_JOB_ID": "12"}
    code = ("import json; from tunelab.compat.deephyper.evaluator import run_job; "
            "print(json.dumps(run_job({'x': 2.0, 'tunelab_budget': 1})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"value": 6.0, "id": 12.0}


def test_run_job_without_a_run_reference_is_a_user_error(monkeypatch):
    monkeypatch.delenv(RUN_ENV, raising=False)
    with pytest.raises(UserError, match=RUN_ENV):
        run_job({"x": 1})


# --- searches -----------------------------------------------------------------------------

def small_problem() -> HpProblem:
    problem = HpProblem()
    problem.add_hyperparameter((-5.0, 5.0), "x")
    problem.add_hyperparameter([1, 2, 4], "k")
    return problem


@pytest.mark.parametrize(("surrogate", "proposer"), [("RF", "smac"), ("GP", "gp"), ("ET", "smac"),
                                                     ("gp", "gp"), ("DUMMY", "random")])
def test_cbo_surrogates_map_to_tunelab_proposers(surrogate, proposer):
    search = CBO(small_problem(), Evaluator.create(run), surrogate_model=surrogate)
    assert search.spec(10)["proposer"] == proposer


def test_cbo_spec_is_a_valid_maximizing_tunelab_spec(tmp_path):
    problem = small_problem()
    problem.add_starting_point(x=1.0, k=2)
    evaluator = Evaluator.create(run, method="process", method_kwargs={"num_workers": 2})
    search = CBO(problem, evaluator, random_state=np.random.RandomState(0), log_dir=str(tmp_path),
                 initial_points=[{"x": 0.0, "k": 4}])
    spec = search.spec(max_evals=12, timeout=30)
    assert search.proposer == "smac" and CBO(problem, evaluator).proposer == "smac"
    assert spec["target"] == "max" and spec["n_parallel"] == 2 and spec["n_samples"] == 12
    assert spec["max_duration"] == 30 and isinstance(spec["random_seed"], int)
    assert spec["initial_configs"] == [{"x": 1.0, "k": 2}, {"x": 0.0, "k": 4}]
    assert spec["runtime_args"]["env"][RUN_ENV] == f"{__name__}:run"
    parse_spec({**spec, "proposer": "gp", "function": "tunelab.compat.deephyper.evaluator:run_job"})


def test_cbo_options(recwarn):
    problem, evaluator = small_problem(), Evaluator.create(run)
    with pytest.warns(UserWarning, match="kappa"):
        CBO(problem, evaluator, kappa=1.96, acq_func="UCB")
    with pytest.raises(UserError, match="not an option"):
        CBO(problem, evaluator, kapa=1.96)
    with pytest.raises(UserError, match="surrogate_model"):
        CBO(problem, evaluator, surrogate_model="XGB")
    with pytest.raises(SpecError, match="initial_points"):
        CBO(problem, evaluator, initial_points=[{"x": 9.0, "k": 1}])
    with pytest.raises(UserError, match="random_state"):
        CBO(problem, evaluator, random_state="seed")


def test_a_plain_function_is_a_serial_evaluator():
    search = RandomSearch(small_problem(), run)
    assert search.evaluator.num_workers == 1 and search.spec(5)["proposer"] == "random"


def test_search_needs_max_evals_or_timeout():
    with pytest.raises(UserError, match="never end"):
        CBO(small_problem(), run).search()


def test_results_frame_has_deephypers_columns():
    jobs = pd.DataFrame({
        "job_id": [11, 10, 12, 13], "number": [1, 0, 2, 3], "status": ["failed", "finished", "finished", "pending"],
        "value": [None, -1.5, -0.5, None], "budget": [None] * 4, "x": [0.1, 0.2, 0.3, 0.4], "k": [1, 2, 4, 1],
        "time": [None, 3.0, 4.0, None], "attempts": [1, 1, 1, 0], "started": [101.0, 100.0, 102.0, 103.0],
        "ended": [103.0, 101.5, 104.0, 104.0], "duration": [2.0, 1.5, 2.0, None],
        "error": ["JobFailed: F_memory", None, None, "stopped after a job failure"], "intermediate": [[]] * 4})
    frame = results_frame(jobs, ["x", "k"], started=100.0)
    assert list(frame.columns) == ["p:k", "p:x", "objective", "job_id", "job_status", "m:timestamp_submit",
                                   "m:timestamp_gather", "m:time", "sol.p:k", "sol.p:x", "sol.objective"]
    assert frame["job_id"].tolist() == [0, 1, 2, 3]
    assert frame["objective"].tolist() == [-1.5, "F_memory", -0.5, "F_CANCELLED"]
    assert frame["job_status"].tolist() == ["DONE", "DONE", "DONE", "CANCELLED"]
    assert frame["m:timestamp_submit"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert frame["m:timestamp_gather"].tolist() == [1.5, 3.0, 4.0, 4.0]
    assert frame["sol.objective"].tolist() == [-1.5, -1.5, -0.5, -0.5]
    assert frame["sol.p:x"].tolist() == [0.2, 0.2, 0.3, 0.3]


def test_all_lists_the_public_names():
    assert sorted(dh.__all__) == sorted(n for n, v in vars(dh).items()
                                        if not n.startswith("_") and not isinstance(v, types.ModuleType))


def test_the_newer_signature_takes_the_evaluator_in_search(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNELAB_STORAGE", f"sqlite:///{tmp_path / 'db.sqlite'}")
    search = CBO(small_problem(), log_dir=str(tmp_path / "out"), random_state=42)
    assert search.evaluator is None and search.seed == 42
    frame = search.search(run, max_evals=3)
    assert search.evaluator.num_workers == 1 and len(frame) == 3
    assert np.allclose(frame["objective"], -frame["p:x"] ** 2)
    assert frame["sol.objective"].tolist()[-1] == frame["objective"].max()
    assert pd.read_csv(tmp_path / "out" / "results.csv")["job_id"].tolist() == [0, 1, 2]


def test_search_without_an_evaluator_says_where_to_give_it():
    with pytest.raises(UserError, match=r"no evaluator; call search.search\(run_or_evaluator"):
        CBO(small_problem(), random_state=1).search(max_evals=2)


def test_positional_forms_of_every_release():
    problem, evaluator = small_problem(), Evaluator.create(run, method="thread", method_kwargs={"num_workers": 3})
    assert CBO(problem, 7).seed == 7 and CBO(problem, 7).evaluator is None  # CBO(problem, random_state)
    old = CBO(problem, evaluator, 7)  # CBO(problem, evaluator, random_state)
    assert old.seed == 7 and old.spec(4)["n_parallel"] == 3
    assert dh.AMBS is CBO and RandomSearch(problem, run).spec(2)["n_samples"] == 2


def test_search_level_options():
    problem = small_problem()
    with pytest.warns(UserWarning, match="stopper"):
        CBO(problem, run, stopper=object())
    with pytest.raises(UserError, match="solution_selection: 'best' is unknown"):
        RandomSearch(problem, run, solution_selection="best")
    with pytest.warns(UserWarning, match="best observed job"):
        RandomSearch(problem, run, solution_selection=dh.ArgMaxEstSelection(problem, noisy_objective=True))
    RandomSearch(problem, run, solution_selection=dh.ArgMaxObsSelection())
    with pytest.raises(UserError, match="'population' is not an option"):
        RegularizedEvolution(problem, run, population=5)
    spec = RegularizedEvolution(problem, run, population_size=8, sample_size=3).spec(10)
    assert spec["proposer"] == "evolution" and spec["proposer_args"] == {"population_size": 8, "sample_size": 3}
    parse_spec({**spec, "function": "tunelab.compat.deephyper.evaluator:run_job"})


def test_older_search_calls_and_no_csv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TUNELAB_STORAGE", f"sqlite:///{tmp_path / 'db.sqlite'}")
    search = RandomSearch(small_problem(), Evaluator.create(run), random_state=3, checkpoint_history_to_csv=False)
    frame = search.search(2)  # search.search(max_evals) positionally, as in DeepHyper 0.3
    assert len(frame) == 2 and not (tmp_path / "results.csv").exists()


def test_a_tuple_makes_the_search_multi_objective(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TUNELAB_STORAGE", f"sqlite:///{tmp_path / 'db.sqlite'}")
    frame = CBO(small_problem(), random_state=5).search(run_two, max_evals=5)
    assert list(frame.columns) == ["p:k", "p:x", "objective_0", "objective_1", "job_id", "job_status",
                                   "m:timestamp_submit", "m:timestamp_gather", "pareto_efficient"]
    assert len(frame) == 5 and np.allclose(frame["objective_1"], -frame["p:x"] ** 2)
    front = frame[frame["pareto_efficient"]]
    assert len(front) >= 1 and frame["objective_0"].max() in front["objective_0"].tolist()
    names = [e.name for e in Storage(f"sqlite:///{tmp_path / 'db.sqlite'}").experiments()]
    moo = [n for n in names if n.endswith("-moo")]
    assert len(names) == 2 and len(moo) == 1
    assert tunelab.api.load(moo[0], storage=f"sqlite:///{tmp_path / 'db.sqlite'}").experiment.spec["proposer"] == "parego"


def test_multi_objective_spec_maximizes_every_objective():
    spec = RegularizedEvolution(small_problem(), run, population_size=8).spec(10)
    moo = multi_objective_spec(spec, 3)
    assert moo["objectives"] == [{"name": f"objective_{i}", "target": "max"} for i in range(3)]
    assert moo["proposer"] == "nsga2" and "target" not in moo and "proposer_args" not in moo
    assert moo["name"] == spec["name"] + "-moo"
    parse_spec({**moo, "function": "tunelab.compat.deephyper.evaluator:run_job"})


def test_experimental_design_search_maps_designs():
    spec = ExperimentalDesignSearch(small_problem(), run, n_points=8, design="lhs", random_state=2).spec(8)
    assert (spec["proposer"], spec["proposer_args"]) == ("qmc", {"method": "lhs"})
    parse_spec({**spec, "function": "tunelab.compat.deephyper.evaluator:run_job"})
    assert ExperimentalDesignSearch(small_problem(), run, n_points=4).spec(4)["proposer"] == "random"
    with pytest.raises(UserError, match="n_points is required"):
        ExperimentalDesignSearch(small_problem(), run)
    with pytest.raises(UserError, match="design 'grid' is not supported"):
        ExperimentalDesignSearch(small_problem(), run, n_points=4, design="grid")


def test_a_configuration_space_is_read_whole():
    import ConfigSpace as cs

    space = cs.ConfigurationSpace({"units": (8, 64), "kind": ["a", "b"]})
    noise = cs.NormalFloatHyperparameter("noise", mu=0.5, sigma=0.1, lower=0.0, upper=1.0)
    space.add(noise)
    space.add(cs.EqualsCondition(noise, space["kind"], "b"))
    problem = HpProblem(space)
    assert {e["name"]: e for e in problem.parameter_config}["noise"] == {
        "name": "noise", "type": "float", "prior": "normal", "mu": 0.5, "sigma": 0.1, "range": [0.0, 1.0],
        "log": False, "when": {"kind": "b"}}
    space.add(cs.ForbiddenEqualsClause(space["units"], 9))
    with pytest.raises(UserError, match="forbidden clauses are not supported"):
        HpProblem(space)


def test_default_configuration_is_configspaces():
    import ConfigSpace as cs

    problem = HpProblem()
    x = problem.add_hyperparameter((0, 10), "x")
    problem.add_hyperparameter((1e-4, 1e-2, "log-uniform"), "lr")
    kind = problem.add_hyperparameter(["a", "b"], "kind", default_value="b")
    problem.add_hyperparameter({"mu": 0.5, "sigma": 0.1}, "noise")
    assert problem.default_configuration == {"x": 5, "lr": pytest.approx(1e-3), "kind": "b", "noise": 0.5}
    problem.add_condition(cs.EqualsCondition(x, kind, "a"))
    assert "x" not in problem.default_configuration
    CBO(problem, run, initial_points=[problem.default_configuration])  # a valid starting point


def test_ask_and_tell_uses_the_search_proposer():
    search = CBO(small_problem(), random_state=4, surrogate_model="DUMMY")
    for _ in range(6):
        (config,) = search.ask(1)
        search.tell([(config, "F_crash" if config["k"] == 4 else -config["x"] ** 2)])
    best = search._asker().best
    assert best["value"] == max(-c["config"]["x"] ** 2 for c in search._asker().history if c["value"] is not None)
    with pytest.raises(UserError, match="x must lie in"):
        search.tell([({"x": 9.9, "k": 1}, 1.0)])


def test_analysis_helpers_read_the_results_table():
    import matplotlib

    matplotlib.use("Agg")
    results = pd.DataFrame({"p:x": [1.0, 2.0, 3.0, 4.0], "objective": [0.5, "F_bad", 0.9, 0.2],
                            "m:timestamp_gather": [1.0, 2.0, 3.0, 4.0]})
    assert dh.parameters_at_max(results) == ({"x": 3.0}, 0.9)
    assert dh.parameters_at_max(results, n_last=0.25) == ({"x": 4.0}, 0.2)  # the last quarter of the rows
    assert dh.parameters_at_topk(results, k=2) == [({"x": 3.0}, 0.9), ({"x": 1.0}, 0.5)]
    ok, failed = dh.filter_failed_objectives(results)
    assert ok["objective"].tolist() == [0.5, 0.9, 0.2] and failed["p:x"].tolist() == [2.0]
    fig, ax = dh.plot_search_trajectory_single_objective_hpo(results, mode="min", x_units="seconds")
    assert ax.get_xlabel() == "Time (sec.)" and list(ax.lines[0].get_ydata()) == [-0.5, -0.5, -0.9, -0.9]


# --- the CLI form ----------------------------------------------------------------------------

PROBLEM = """
from tunelab.compat.deephyper import HpProblem

problem = HpProblem()
problem.add_hyperparameter((0.0, 2.0), "x")
problem.add_hyperparameter(["a", "b"], "c")
problem.add_starting_point(x=1.0, c="a")
"""


def test_spec_from_problem_file(tmp_path, monkeypatch):
    (tmp_path / "problem.py").write_text(PROBLEM)
    (tmp_path / "model.py").write_text("def run(job):\n    return job['x'] * (2 if job['c'] == 'b' else 1)\n")
    spec, objective = spec_from_problem_file(tmp_path / "problem.py", "model:run")
    assert objective is run_job
    assert spec["name"] == "problem" and spec["target"] == "max" and spec["proposer"] == "smac"
    assert spec["initial_configs"] == [{"x": 1.0, "c": "a"}]
    assert spec["runtime_args"]["env"][RUN_ENV] == f"{(tmp_path / 'model.py').resolve()}:run"
    monkeypatch.setenv(RUN_ENV, spec["runtime_args"]["env"][RUN_ENV])
    assert run_job({"x": 1.5, "c": "b"}) == 3.0


@pytest.mark.parametrize(("source", "match"), [
    ("x = 1\n", "no HpProblem"),
    ("from tunelab.compat.deephyper import HpProblem\na = HpProblem()\nb = HpProblem()\n", "several")])
def test_problem_file_errors(tmp_path, source, match):
    path = tmp_path / f"p{abs(hash(source))}.py"
    path.write_text(source)
    with pytest.raises(UserError, match=match):
        spec_from_problem_file(path, "model:run")


def test_problem_file_run_reference_errors(tmp_path):
    (tmp_path / "problem2.py").write_text(PROBLEM)
    with pytest.raises(UserError, match="module:function"):
        spec_from_problem_file(tmp_path / "problem2.py", "run")
    with pytest.raises(UserError, match="cannot import"):
        spec_from_problem_file(tmp_path / "problem2.py", "nowhere_module:run")


# --- end to end: a DeepHyper script, unchanged but for its imports ------------------------------

SCRIPT = """
import sys
from tunelab.compat.deephyper import CBO, Evaluator, HpProblem

problem = HpProblem()
problem.add_hyperparameter((-3.0, 3.0), "x")
problem.add_hyperparameter(["a", "b"], "c")
problem.add_starting_point(x=2.5, c="b")


def run(config):  # older DeepHyper style: a dict-like config
    if config["c"] == "b" and config["x"] > 2:
        return "F_too_far"
    return {"objective": -(config["x"] - 1) ** 2, "metadata": {"twice": 2 * config["x"]}}


if __name__ == "__main__":
    evaluator = Evaluator.create(run, method="process", method_kwargs={"num_workers": 2})
    search = CBO(problem, evaluator, random_state=42, surrogate_model=sys.argv[1], log_dir="out")
    results = search.search(max_evals=6)
    print(len(results), list(results.columns))
"""


@pytest.mark.parametrize("surrogate", ["GP", "RF"])
def test_deephyper_script_runs_with_two_workers_and_writes_results_csv(tmp_path, surrogate):
    (tmp_path / "search.py").write_text(textwrap.dedent(SCRIPT))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNELAB_")}
    env["TUNELAB_STORAGE"] = f"sqlite:///{tmp_path / 'db.sqlite'}"
    out = subprocess.run([sys.executable, "search.py", surrogate], cwd=tmp_path, capture_output=True, text=True,
                         timeout=240, env=env)
    assert out.returncode == 0, out.stderr
    frame = pd.read_csv(tmp_path / "out" / "results.csv")
    assert list(frame.columns) == ["p:c", "p:x", "objective", "job_id", "job_status", "m:timestamp_submit",
                                   "m:timestamp_gather", "m:twice", "sol.p:c", "sol.p:x", "sol.objective"]
    assert len(frame) == 6 and frame["job_id"].tolist() == list(range(6))
    assert (frame["job_status"] == "DONE").all()
    first = frame.iloc[0]
    assert (first["p:x"], first["p:c"], first["objective"]) == (2.5, "b", "F_too_far")
    ok = frame[frame["objective"] != "F_too_far"]
    assert np.allclose(ok["objective"].astype(float), -(ok["p:x"] - 1) ** 2)
    assert np.allclose(ok["m:twice"], 2 * ok["p:x"])
    assert (frame["m:timestamp_gather"] >= frame["m:timestamp_submit"]).all()
    assert "6 ['p:c', 'p:x'" in out.stdout


def test_unguarded_script_runs_its_jobs_without_recursing(tmp_path):
    """A worker imports the script up to its search line: `run` is defined, no second search starts."""
    body = textwrap.dedent(SCRIPT).replace('if __name__ == "__main__":', "if True:").replace("sys.argv[1]", '"GP"')
    (tmp_path / "search.py").write_text(body.replace("max_evals=6", "max_evals=3"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNELAB_")}
    env["TUNELAB_STORAGE"] = f"sqlite:///{tmp_path / 'db.sqlite'}"
    out = subprocess.run([sys.executable, "search.py"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=240, env=env)
    assert out.returncode == 0, out.stderr
    frame = pd.read_csv(tmp_path / "out" / "results.csv")
    assert frame["objective"].iloc[0] == "F_too_far"
    assert np.allclose(frame["objective"].iloc[1:].astype(float), -(frame["p:x"].iloc[1:] - 1) ** 2)
    assert out.stdout.count("3 ['p:c'") == 1


def test_a_module_that_searches_when_imported_fails_its_jobs_with_the_fix(tmp_path, monkeypatch):
    (tmp_path / "searching_module.py").write_text(
        "from tunelab.compat.deephyper import CBO, HpProblem\n"
        "def run(job):\n    return 1.0\n"
        "problem = HpProblem()\nproblem.add_hyperparameter((0.0, 1.0), 'x')\n"
        "CBO(problem, run).search(max_evals=1)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    with pytest.raises(UserError, match="called while a worker imports your module"):
        load("searching_module:run")


PROFILED = """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from tunelab.compat.deephyper import CBO, Evaluator, HpProblem, figure_size, plot_worker_utilization, profile

problem = HpProblem()
problem.add_hyperparameter((-1.0, 1.0), "x")


@profile
def run(config):
    return -config["x"] ** 2


evaluator = Evaluator.create(run, method="thread", method_kwargs={"num_workers": 2})
results = CBO(problem, random_state=3).search(evaluator, timeout=60, max_evals=4)
fig, ax = plt.subplots(figsize=figure_size(width=600))
plot_worker_utilization(results.dropna(), num_workers=2, profile_type="start/end", ax=ax)
fig.savefig("utilization.png")
"""


def test_profiled_run_adds_start_and_end_times(tmp_path):
    (tmp_path / "profiled.py").write_text(PROFILED)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNELAB_")}
    env["TUNELAB_STORAGE"] = f"sqlite:///{tmp_path / 'db.sqlite'}"
    out = subprocess.run([sys.executable, "profiled.py"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=240, env=env)
    assert out.returncode == 0, out.stderr
    frame = pd.read_csv(tmp_path / "results.csv")
    assert len(frame) == 4 and np.allclose(frame["objective"], -frame["p:x"] ** 2)
    assert (frame["m:timestamp_end"] >= frame["m:timestamp_start"]).all()
    assert (tmp_path / "utilization.png").stat().st_size > 0


def test_worker_utilization_counts_running_jobs():
    import matplotlib

    matplotlib.use("Agg")
    results = pd.DataFrame({"m:timestamp_submit": [0.0, 1.0, 2.0], "m:timestamp_gather": [3.0, 2.0, 4.0]})
    _fig, ax = dh.plot_worker_utilization(results, num_workers=2)
    assert list(ax.lines[0].get_ydata()) == [0.5, 1.0, 0.5, 1.0, 0.5, 0.0]
    assert dh.figure_size(72.27, fraction=0.5) == (0.5, 0.5 * (5**0.5 - 1) / 2)


def test_old_results_csv_is_kept_under_a_new_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results.csv").write_text("old\n")
    problem = HpProblem()
    problem.add_hyperparameter((0.0, 1.0), "x")
    warnings.simplefilter("ignore")
    monkeypatch.setenv("TUNELAB_STORAGE", f"sqlite:///{tmp_path / 'db.sqlite'}")
    frame = RandomSearch(problem, Evaluator.create(run), random_state=0).search(max_evals=2)
    assert len(frame) == 2 and np.allclose(frame["objective"], -frame["p:x"] ** 2)
    kept = [p.name for p in tmp_path.glob("results_*.csv")]
    assert len(kept) == 1 and (tmp_path / kept[0]).read_text() == "old\n"


def test_example_deephyper_cbo_runs(tmp_path):
    example = Path(__file__).resolve().parents[2] / "examples" / "deephyper_cbo" / "search.py"
    shutil.copy(example, tmp_path / "search.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNELAB_")}
    env["TUNELAB_STORAGE"] = f"sqlite:///{tmp_path / 'db.sqlite'}"
    out = subprocess.run([sys.executable, "search.py", "4"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=240, env=env)
    assert out.returncode == 0, out.stderr
    frame = pd.read_csv(tmp_path / "results.csv")
    assert len(frame) == 4 and frame["objective"].astype(float).between(0, 1).all()
    assert {"p:C", "p:gamma", "p:kernel", "m:std"} <= set(frame.columns)
