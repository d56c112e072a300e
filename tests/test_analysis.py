"""Plots computed from stored experiments (tunelab.analysis), and ``tunelab plot``."""

from __future__ import annotations

import json
import math
import random
import re

import pytest

from tests.conftest import tunelab, write_experiment
from tunelab import analysis, api
from tunelab.results import ExperimentResult
from tunelab.storage import Attempt, Experiment, Job


def _result(values, target="min", configs=None, **job_fields):
    spec = {"target": target, "parameter_config": [
        {"name": "x", "type": "float", "range": [0.001, 1], "log": True},
        {"name": "noise", "type": "float", "range": [0, 1]},
        {"name": "opt", "type": "choice", "range": ["adam", "sgd"]}]}
    exp = Experiment(1, "e", "finished", spec, 0, 0.0, 0.0, None)
    jobs = []
    for i, value in enumerate(values):
        config = configs[i] if configs else {"x": 0.5, "noise": 0.1, "opt": "adam"}
        jobs.append(Job(i + 1, 1, i, config, None, "finished" if value is not None else "failed", value, {}, {},
                        None, 100.0 + i, 101.0 + i, **job_fields))
    return ExperimentResult(exp, jobs)


def test_best_so_far_follows_the_target_and_skips_failed_jobs():
    assert analysis.best_so_far(_result([3.0, 1.0, None, 2.0])) == [(0, 3.0, 3.0), (1, 1.0, 1.0), (3, 2.0, 1.0)]
    assert [b for *_, b in analysis.best_so_far(_result([1.0, 3.0, 2.0], target="max"))] == [1.0, 3.0, 3.0]


def test_importance_ranks_the_parameter_that_drives_the_value_first():
    rng = random.Random(0)
    configs = [{"x": 10 ** rng.uniform(-3, 0), "noise": rng.random(), "opt": rng.choice(["adam", "sgd"])}
               for _ in range(60)]
    values = [abs(math.log10(c["x"]) + 1.5) for c in configs]
    ranked = analysis.importance(_result(values, configs=configs))
    assert ranked[0][0] == "x" and ranked[0][1] > 0.7
    assert abs(sum(score for _, score in ranked) - 1.0) < 1e-6
    assert analysis.importance(_result([1.0, 2.0, 3.0])) == []


def test_parameters_tell_categories_and_log_scales():
    params = {p["name"]: p for p in analysis.parameters(_result([1.0, 2.0], configs=[
        {"x": 0.01, "noise": 0.2, "opt": "sgd"}, {"x": 0.1, "noise": 0.3, "opt": "<b>adam</b>"}]))}
    assert params["x"]["log"] and not params["x"]["categorical"]
    assert params["opt"]["categorical"] and params["opt"]["choices"] == ["<b>adam</b>", "sgd"]


def test_every_kind_builds_a_json_option_even_for_an_empty_experiment():
    attempt = Attempt(1, 1, "stopped", {"slot": 0}, None, 100.0, 101.0, None, "hostA", [(0, 2.0), (1, 1.5)])
    full = _result([2.0, 1.0], attempts=[attempt], intermediate=[(0, 2.0), (1, 1.5)])
    for result in (full, _result([])):
        for kind in analysis.KINDS:
            figure = analysis.plot(result, kind)
            json.dumps(figure.option, allow_nan=False)
            assert figure.option["title"]
    timeline = analysis.plot(full, "timeline").option
    assert timeline["yAxis"]["data"] == ["hostA · slot 0"]
    with pytest.raises(ValueError, match="kind must be one of"):
        analysis.plot(full, "pie")


def test_rungs_group_multi_fidelity_jobs_by_bracket():
    result = _result([3.0, 2.0, 1.0])
    for job, (bracket, rung, budget) in zip(result.jobs, [(0, 0, 1.0), (0, 1, 3.0), (1, 0, 3.0)]):
        job.info, job.budget = {"bracket": bracket, "rung": rung, "config_id": str(job.id)}, budget
    series = analysis.plot(result, "rungs").option["series"]
    assert [s["name"] for s in series] == ["bracket 0", "bracket 1"]
    assert series[0]["data"] == [[1.0, 3.0], [3.0, 2.0]]


def test_html_is_self_contained_and_escapes_data():
    figure = analysis.plot(_result([1.0, 2.0], configs=[{"x": 0.1, "noise": 0, "opt": "</script><script>x()"}] * 2),
                           "parallel")
    page = figure.to_html()
    assert "</script><script>x()" not in page
    assert not re.search(r"<script[^>]+src=|<link", page)
    assert "srcdoc=" in figure._repr_html_()


def test_plot_cli_writes_each_kind(workdir, script, storage_url):
    script("from tunelab import trial\nc = trial.load_config()\ntrial.report_intermediate(c['x'], step=0)\n"
           "trial.report((c['x'] - 0.3) ** 2)\n")
    path = write_experiment(workdir, name="quad", script="train.py", proposer="random", n_samples=6,
                            parameter_config=[{"name": "x", "type": "float", "range": [0, 1]}])
    assert tunelab("run", str(path), "--storage", storage_url).returncode == 0
    for kind in ("history", "importance", "timeline"):
        out = tunelab("plot", "quad", "--kind", kind, "-o", f"{kind}.html", "--storage", storage_url)
        assert out.returncode == 0 and out.stdout.strip() == f"wrote {kind}.html", out.stderr
        assert "echarts.init" in (workdir / f"{kind}.html").read_text(encoding="utf-8")
    out = tunelab("plot", "quad", "-o", "plot.png", "--storage", storage_url)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "--output: 'plot.png' is not an .html" in out.stderr
    out = tunelab("plot", "nope", "--storage", storage_url)
    assert out.returncode == 2 and "experiment 'nope' not found" in out.stderr
    figure = api.plot("quad", "slice", storage=storage_url)
    assert figure.option["series"][0]["name"] == "x" and len(figure.option["series"][0]["data"]) == 6
    assert api.compare(["quad"], storage=storage_url).option["series"][0]["name"] == "quad"
