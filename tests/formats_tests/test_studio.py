"""Studio.ml: the --hyperparam grammar, substitution, event files, the runner and `tunelab sweep`."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tunelab.exceptions import UserError
from tunelab.formats import studio
from tunelab.formats.studio import build_spec, parse_hyperparam, parse_metric, read_event_file, read_scalars, substitute
from tunelab.formats.studio_runner import NO_OBJECTIVE, make_workspace
from tunelab.spec import parse_spec

HELPER = Path(__file__).with_name("tfevents.py")
_spec = importlib.util.spec_from_file_location("tfevents_helper", HELPER)
tfevents = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tfevents)


def values(text: str, optimizer: str = "grid") -> list:
    (entry,) = parse_hyperparam(text, optimizer).entries
    return entry["range"] if entry["type"] == "ordinal" else [entry["value"]]


# --- grammar: Studio.ml's docs/hyperparams.rst, value by value ---------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("lr=0.01:0.01:0.1", [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1]),
    ("lr=1e-5:l5:0.1", [1e-5, 1e-4, 1e-3, 0.01, 0.1]),
    ("lr=1e-5:10:0.1", [1e-5 + i * (0.1 - 1e-5) / 9 for i in range(10)]),
    ("lr=1e-5:u10:0.1", [1e-5 + i * (0.1 - 1e-5) / 9 for i in range(10)]),
    ("no_layers=0:3", [0, 1, 2, 3]),
    ("nolayers=:3", [0, 1, 2, 3]),
    ("lr=0.1", [0.1]),
    ("no_layers=2,5,6", [2, 5, 6]),
    ("lr=0.1,0.5", [0.1, 0.5]),
    ("n=0:2:10", [0, 2, 4, 6, 8, 10]),       # 2 is not above |10 - 0|: a step
    ("n=0:20:10", [i * 10 / 19 for i in range(20)]),  # 20 > 10: a count
    ("x=1:3:2", [1.0, 1.5, 2.0]),
    ("x=0.5:0.25:1.5", [0.5, 0.75, 1.0, 1.25, 1.5]),
    ("x=-1:1", [-1, 0, 1]),
    ("x=3:-1:1", [3, 2, 1]),
    ("n=5", [5]),
])
def test_grid_forms_give_studios_exact_values(text, expected):
    got = values(text)
    assert got == pytest.approx(expected, rel=1e-9)
    assert len(got) == len(expected)


# Studio.ml's own tests/hyperparam_test.py (test_parse_range): its strings and its values.
STUDIO_PARSE_RANGE = [
    ("1,2,3", [1.0, 2.0, 3.0]),
    (":5", [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
    ("2:5", [2.0, 3.0, 4.0, 5.0]),
    ("0.1:0.05:0.3", [0.1, 0.15, 0.2, 0.25, 0.3]),
    ("0.1:3:0.3", [0.1, 0.2, 0.3]),
    ("0.01:4l:10", [0.01, 0.1, 1, 10]),
]

# The rules of studio/hyperparameter.py `_parse_grid`, worked by hand: `a:b` is numpy's
# arange(a, b + 1); `a:s:b` is linspace(a, b, s) when s is an integer above |b - a|, else
# arange(a, b + s/2, s); a middle field with `l` is a log-spaced count; fields after the
# third are ignored.
STUDIO_RULES = [
    ("0:3.5", [0, 1, 2, 3, 4]),              # below 3.5 + 1
    ("2.5:5", [2.5, 3.5, 4.5, 5.5]),         # steps from a fractional start pass the end
    (":0.5:2", [0, 0.5, 1, 1.5, 2]),         # empty start of a stepped range is 0
    ("0:0.3:1", [0, 0.3, 0.6, 0.9]),         # 1.2 is not below 1 + 0.15
    ("1:-0.5:0", [1, 0.5, 0]),               # a negative step walks down
    ("0:2.0:1", [0, 1]),                     # 2.0 is an integer above 1: a count
    ("1:1:1", [1]),                          # a count of 1 is the start
    ("1e-5:5l:0.1", [1e-5, 1e-4, 1e-3, 0.01, 0.1]),
    ("1:l1:100", [1]),
    ("1:2:3:4", [1, 3]),                     # 2 is not above |3 - 1|: arange(1, 4, 2); 4 ignored
    ("-2,0.5,3", [-2, 0.5, 3]),
    (" 1e-3 ", [0.001]),
]


@pytest.mark.parametrize(("text", "expected"), STUDIO_PARSE_RANGE + STUDIO_RULES)
def test_grid_values_follow_studios_parser(text, expected):
    got = values(f"x={text}")
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert len(got) == len(expected)


def test_grid_fields_after_the_third_are_ignored_with_a_note():
    param = parse_hyperparam("lr=1:2:3:4")
    assert len(param.notes) == 1 and "'1:2:3'" in param.notes[0] and "ignored" in param.notes[0]
    assert parse_hyperparam("lr=1:2:3").notes == []


def test_integer_literals_stay_ints_and_floats_stay_floats():
    assert all(type(v) is int for v in values("layers=2,5,6") + values("n=:3") + values("n=0:2:10"))
    assert all(type(v) is float for v in values("lr=0.01:0.01:0.1") + values("x=1:3:2") + values("x=2.0,3"))


def test_grid_entries_are_ordinal_or_constant():
    assert parse_hyperparam("layers=2,5,6").entries == [{"name": "layers", "type": "ordinal", "range": [2, 5, 6]}]
    assert parse_hyperparam("lr=0.1").entries == [{"name": "lr", "type": "constant", "value": 0.1}]


@pytest.mark.parametrize("text", ["lr", "lr=", "=1", "1x=2", "lr=a", "lr=a:1", "lr=0:l5:1", "lr=1:x5:2",
                                  "lr=1:0.5:0", "x=1:0", "lr=0:l0:1", "lr=1,b", "lr=0:0:1", "lr=1:l:2",
                                  "lr=1:l5u:2", "lr=0:nan:1", "lr=0:inf:1", "lr=1,,2", "lr=1:2,3"])
def test_bad_grid_strings_are_one_line_user_errors(text):
    with pytest.raises(UserError) as info:
        parse_hyperparam(text)
    message = str(info.value)
    assert "\n" not in message and message.startswith("--hyperparam")


@pytest.mark.parametrize(("text", "entry"), [
    ("lr=0:1", {"name": "lr", "type": "float", "range": [0.0, 1.0], "log": False}),
    ("lr=1e-4:1:l", {"name": "lr", "type": "float", "range": [1e-4, 1.0], "log": True}),
    ("lr=0:1:r", {"name": "lr", "type": "float", "range": [0.0, 1.0], "log": False}),
    # studio/hyperparameter.py `_parse_opt`: an empty flags field is no flag; flags in any order
    ("lr=0:1:", {"name": "lr", "type": "float", "range": [0.0, 1.0], "log": False}),
    ("lr=1e-3:1:rl", {"name": "lr", "type": "float", "range": [1e-3, 1.0], "log": True}),
])
def test_optimizer_forms_are_float_parameters(text, entry):
    assert parse_hyperparam(text, "cmaes").entries == [entry]


def test_optimizer_array_flag_makes_one_parameter_per_element():
    param = parse_hyperparam("lr=0:1:10:ura", "cmaes")
    assert [e["name"] for e in param.entries] == [f"lr[{i}]" for i in range(10)]
    assert all(e["range"] == [0.0, 1.0] for e in param.entries)
    assert len(param.notes) == 1 and "unbounded" in param.notes[0]  # flag u cannot be honoured


def test_optimizer_equal_bounds_are_constants():  # the docs' lr=5:5:10:alu
    param = parse_hyperparam("lr=5:5:10:alu", "cmaes")
    assert param.entries == [{"name": f"lr[{i}]", "type": "constant", "value": 5.0} for i in range(10)]


def test_optimizer_start_is_the_middle_or_random_with_r():
    assert parse_hyperparam("lr=0:1", "cmaes").start == {"lr": 0.5}
    assert parse_hyperparam("lr=1e-4:1:l", "cmaes").start["lr"] == pytest.approx(1e-2)
    import random

    start = parse_hyperparam("lr=0:1:r", "cmaes", random.Random(3)).start["lr"]
    assert 0 <= start <= 1 and start != 0.5


@pytest.mark.parametrize("text", ["lr=0:5:l", "lr=0:1:q", "lr=0:1:ll", "lr=0:1:a", "lr=0:1:5:u", "lr=0:1:x:a",
                                  "lr=0:1:0:a", "lr=2:1"])
def test_bad_optimizer_strings_are_user_errors(text):
    with pytest.raises(UserError, match="^--hyperparam"):
        parse_hyperparam(text, "cmaes")


def test_optimizer_mode_keeps_lists_and_single_values_discrete():
    assert parse_hyperparam("layers=2,5,6", "tpe").entries[0]["type"] == "ordinal"
    assert parse_hyperparam("lr=0.1", "tpe").entries[0]["type"] == "constant"


@pytest.mark.parametrize(("metric", "parsed"), [
    (None, (None, "last")), ("val_loss", ("val_loss", "last")), ("val_loss:min", ("val_loss", "min")),
    ("acc:max", ("acc", "max")), ("validation/epoch_loss:min", ("validation/epoch_loss", "min")),
    ("val_loss:final", ("val_loss", "last"))])  # studio/runner.py --help: val_loss[:final | :min | :max]
def test_metric_suffixes(metric, parsed):
    assert parse_metric(metric) == parsed


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("5h", 18000), ("48h2m10s", 172930), ("1d 12h", 129600),
                                              ("1.5m", 90)])
def test_max_duration_takes_studios_compound_durations(text, seconds):
    assert studio.parse_max_duration(text) == seconds


@pytest.mark.parametrize("text", ["5x", "h", "0", "-3", "5h junk", ""])
def test_bad_max_duration_is_a_user_error(text):
    with pytest.raises(UserError, match="^--max-duration"):
        studio.parse_max_duration(text)


def test_bad_metric_suffix():
    with pytest.raises(UserError, match=":min, :max"):
        parse_metric("loss:lowest")


# --- the spec -------------------------------------------------------------------------

COMMAND = ["python", "-m", "tunelab.formats.studio_runner", "{config}", "train.py"]


def test_grid_spec_is_a_valid_sequence_search_over_every_combination():
    spec, notes = build_spec(["lr=1e-5:l5:0.1", "layers=2,5,6", "seed=1"], COMMAND)
    assert spec["proposer"] == "sequence" and spec["n_samples"] == 15 and spec["target"] == "max"
    assert notes == []
    parsed = parse_spec(spec)
    assert len(list(parsed.space.grid())) == 15


def test_grid_spec_n_samples_caps_the_grid():
    spec, _ = build_spec(["layers=2,5,6"], COMMAND, n_samples=2)
    assert spec["n_samples"] == 2


@pytest.mark.parametrize(("metric", "target", "expected"), [
    (None, None, "max"), ("val_loss:min", None, "min"), ("acc:max", None, "max"), ("loss", None, "min"),
    ("loss", "max", "max")])
def test_target_follows_fitness_or_metric(metric, target, expected):
    spec, _ = build_spec(["lr=0.1,0.2"], COMMAND, metric=metric, target=target)
    assert spec["target"] == expected


def test_optimizer_spec_starts_at_the_initial_point():
    spec, _ = build_spec(["lr=1e-4:1:l", "layers=2,4,8"], COMMAND, optimizer="cmaes", seed=0)
    assert spec["proposer"] == "cmaes" and spec["n_samples"] == 20 and spec["random_seed"] == 0
    assert spec["initial_configs"] == [{"lr": pytest.approx(1e-2), "layers": 4}]
    parse_spec(spec)


@pytest.mark.parametrize(("args", "match"), [
    ([[]], "at least one"), ([["lr=0.1", "lr=0.2"]], "given twice")])
def test_spec_errors(args, match):
    with pytest.raises(UserError, match=match):
        build_spec(*args, COMMAND)


def test_plugin_optimizer_files_are_refused():
    with pytest.raises(UserError, match="plugin optimizer files"):
        build_spec(["lr=0:1"], COMMAND, optimizer="my_opt.py")


# --- substitution ---------------------------------------------------------------------

SCRIPT = '''\
# lr is set below; lr = 99 in a comment stays
lr = 0.01
layers = 3
print("lr =", lr, 'layers', layers)
model = build(lr=lr, layers=layers)
opt.lr = lr * 2
lr += 1
def f(x, lr=lr):
    return x * lr
name = f"{lr}"
'''


def test_substitution_replaces_reads_only():
    out = substitute(SCRIPT, {"lr": 0.5, "layers": 6})
    assert out == '''\
# lr is set below; lr = 99 in a comment stays
lr = 0.01
layers = 3
print("lr =", 0.5, 'layers', 6)
model = build(lr=0.5, layers=6)
opt.lr = 0.5 * 2
lr += 1
def f(x, lr=0.5):
    return x * 0.5
name = f"{0.5}"
'''


def test_substitution_writes_literals_that_keep_precedence():
    assert substitute("y = x ** 2\nz = -x\n", {"x": -3}) == "y = (-3) ** 2\nz = -(-3)\n"
    assert substitute("w = lr\n", {"lr": [0.1, 0.2]}) == "w = [0.1, 0.2]\n"
    assert substitute("s = act\n", {"act": "relu"}) == "s = 'relu'\n"


def test_substitution_handles_non_ascii_lines_and_unknown_names():
    assert substitute("é = 1; y = lr + é\n", {"lr": 2}) == "é = 1; y = 2 + é\n"
    assert substitute("y = 1\n", {"lr": 2}) == "y = 1\n"


def test_substitution_of_bad_python_is_a_user_error():
    with pytest.raises(UserError, match="line 1"):
        substitute("lr = (\n", {"lr": 1})


def test_workspace_copy_is_substituted_and_originals_are_untouched(tmp_path):
    work = tmp_path / "work"
    (work / "src").mkdir(parents=True)
    (work / "data.txt").write_text("7")
    (work / "src" / "helper.py").write_text("K = 1\n")
    original = "lr = 0.1\nprint(lr)\n"
    (work / "src" / "train.py").write_text(original)
    workspace = tmp_path / "job" / "workspace"
    copy = make_workspace(work, work / "src" / "train.py", workspace, {"lr": 0.3})
    assert copy == workspace / "src" / "train.py"
    assert copy.read_text() == "lr = 0.1\nprint(0.3)\n"
    assert (work / "src" / "train.py").read_text() == original
    assert (workspace / "data.txt").is_symlink() and (workspace / "data.txt").read_text() == "7"
    assert (workspace / "src" / "helper.py").is_symlink()
    assert not (workspace / "src").is_symlink()


# --- TensorBoard event files -----------------------------------------------------------

def test_crc32c_matches_the_standard_check_value():
    assert tfevents.crc32c(b"123456789") == 0xE3069283


@pytest.mark.parametrize("tensor", [False, True])
def test_event_file_scalars_are_read(tmp_path, tensor):
    path = tmp_path / "events.out.tfevents.1.host"
    tfevents.write_events(str(path), [("loss", 0.5, 0), ("acc", 0.25, 0), ("loss", 0.125, 1)], tensor=tensor)
    assert [(step, tag, value) for _t, step, tag, value in read_event_file(path)] == [
        (0, "loss", 0.5), (0, "acc", 0.25), (1, "loss", 0.125)]


def test_read_scalars_orders_by_time_and_matches_folder_tags(tmp_path):
    (tmp_path / "logs" / "validation").mkdir(parents=True)
    tfevents.write_events(str(tmp_path / "logs" / "validation" / "events.out.tfevents.2"),
                          [("epoch_loss", 3.0, 0), ("epoch_loss", 1.0, 1), ("epoch_loss", 2.0, 2)])
    assert read_scalars(tmp_path, "epoch_loss") == [3.0, 1.0, 2.0]
    assert read_scalars(tmp_path, "validation/epoch_loss") == [3.0, 1.0, 2.0]
    assert read_scalars(tmp_path, "other") == []
    values_ = read_scalars(tmp_path, "epoch_loss")
    assert [studio.aggregate(values_, m) for m in ("last", "min", "max")] == [2.0, 1.0, 3.0]


def test_a_torn_last_record_is_ignored(tmp_path):
    path = tmp_path / "events.out.tfevents.3"
    tfevents.write_events(str(path), [("loss", 1.0, 0), ("loss", 2.0, 1)])
    path.write_bytes(path.read_bytes()[:-3])
    assert [v for *_rest, v in read_event_file(path)] == [1.0]


# --- the runner, as a process ------------------------------------------------------------

TRAIN = '''\
import os, sys
from tfevents import write_events
lr = 0.1
layers = 3
if lr > 0.45:
    sys.exit(5)
loss = (lr - 0.2) ** 2 + layers / 100
print("args", sys.argv[1:])
if "--tb" in sys.argv:
    os.makedirs("logs", exist_ok=True)
    write_events("logs/events.out.tfevents.1", [("val_loss", loss + 1, 0), ("val_loss", loss, 1), ("val_loss", loss + 0.5, 2)])
elif "--silent" not in sys.argv:
    print("fitness: %s" % -loss)
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    work = tmp_path / "project"
    work.mkdir()
    (work / "train.py").write_text(TRAIN)
    shutil.copy(HELPER, work / "tfevents.py")
    return work


def _run_job(work: Path, config: dict, *args: str, metric: str | None = None) -> subprocess.CompletedProcess:
    job = work.parent / "jobs" / "job-1"
    job.mkdir(parents=True, exist_ok=True)
    (job / "config.json").write_text(json.dumps(config))
    options = ["--metric", metric] if metric else []
    options += [a for a in args if a == "--fitness-optional"]
    args = tuple(a for a in args if a != "--fitness-optional")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNELAB_")}
    return subprocess.run([sys.executable, "-m", "tunelab.formats.studio_runner", *options, "--workdir", str(work),
                           str(job / "config.json"), "train.py", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def _final(stdout: str) -> float:
    (line,) = [line for line in stdout.splitlines() if line.startswith("#tunelab:")]
    return json.loads(line[len("#tunelab:"):])["value"]


def test_runner_reports_the_fitness_line(project):
    out = _run_job(project, {"lr": 0.3, "layers": 5}, "30", "--flag")
    assert out.returncode == 0, out.stderr
    assert "args ['30', '--flag']" in out.stdout
    assert _final(out.stdout) == pytest.approx(-((0.3 - 0.2) ** 2 + 0.05))
    assert (project / "train.py").read_text() == TRAIN


@pytest.mark.parametrize(("metric", "offset"), [("val_loss", 0.5), ("val_loss:min", 0.0), ("val_loss:max", 1.0)])
def test_runner_reads_the_metric_from_event_files(project, metric, offset):
    out = _run_job(project, {"lr": 0.3, "layers": 5}, "--tb", metric=metric)
    assert out.returncode == 0, out.stderr
    assert _final(out.stdout) == pytest.approx((0.3 - 0.2) ** 2 + 0.05 + offset, rel=1e-6)
    assert not (project / "logs").exists()


def test_runner_without_objective_fails_with_a_clear_message(project):
    out = _run_job(project, {"lr": 0.3, "layers": 5}, "--silent")
    assert out.returncode == NO_OBJECTIVE and "fitness" in out.stderr
    out = _run_job(project, {"lr": 0.3, "layers": 5}, "--silent", metric="val_loss")
    assert out.returncode == NO_OBJECTIVE and "val_loss" in out.stderr


def test_runner_with_fitness_optional_ends_cleanly_without_a_report(project):
    out = _run_job(project, {"lr": 0.3, "layers": 5}, "--fitness-optional", "--silent")
    assert out.returncode == 0 and "#tunelab:" not in out.stdout and out.stderr == ""
    out = _run_job(project, {"lr": 0.3, "layers": 5}, "--fitness-optional", "--silent", metric="val_loss")
    assert out.returncode == NO_OBJECTIVE  # a metric that was asked for is still required


def test_runner_passes_the_scripts_failure_on(project):
    out = _run_job(project, {"lr": 0.5, "layers": 5})
    assert out.returncode == 5 and "#tunelab:" not in out.stdout


# --- `tunelab sweep`, end to end ---------------------------------------------------------

def _sweep(work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNELAB_")}
    return subprocess.run([sys.executable, "-m", "tunelab", "sweep", "--plain", "--storage",
                           f"sqlite:///{work.parent / 'db.sqlite'}", *args], cwd=work, capture_output=True,
                          text=True, timeout=240, env=env)


def _jobs(work: Path, name: str) -> list[dict]:
    from tunelab import api

    result = api.load(name, storage=f"sqlite:///{work.parent / 'db.sqlite'}")
    return [{"config": j.config, "status": j.status, "value": j.value} for j in result.jobs]


def test_sweep_grid_runs_every_combination_and_maximizes_fitness(project):
    out = _sweep(project, "--name", "grid", "--n-parallel", "2", "--hyperparam", "lr=0.1:0.1:0.3",
                 "-hp", "layers=2,5", "train.py", "30")
    assert out.returncode == 0, out.stderr
    jobs = _jobs(project, "grid")
    assert sorted((j["config"]["lr"], j["config"]["layers"]) for j in jobs) == [
        (lr, n) for lr in (0.1, 0.2, 0.3) for n in (2, 5)]
    for job in jobs:
        assert job["status"] == "finished"
        assert job["value"] == pytest.approx(-((job["config"]["lr"] - 0.2) ** 2 + job["config"]["layers"] / 100))
    assert "'lr': 0.2" in out.stdout and "'layers': 2" in out.stdout
    assert (project / "train.py").read_text() == TRAIN


def test_sweep_with_an_optimizer_and_a_tensorboard_metric(project):
    out = _sweep(project, "--name", "opt", "--optimizer", "random", "--n-samples", "3", "--seed", "1",
                 "--metric", "val_loss:min", "-hp", "lr=0.01:0.4:l", "-hp", "layers=2", "train.py", "--tb")
    assert out.returncode == 0, out.stderr
    jobs = _jobs(project, "opt")
    assert len(jobs) == 3 and jobs[0]["config"]["lr"] == pytest.approx(math.sqrt(0.01 * 0.4))
    for job in jobs:
        assert job["value"] == pytest.approx((job["config"]["lr"] - 0.2) ** 2 + 0.02, rel=1e-5)


EFFECTS = '''\
import json, os
lr = 0.1
layers = 3
os.makedirs(os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"), exist_ok=True)
print("training with", lr, layers)
'''


def _tunelab(work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNELAB_")}
    return subprocess.run([sys.executable, "-m", "tunelab", *args, "--storage", f"sqlite:///{work.parent / 'db.sqlite'}"],
                          cwd=work, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def effects(tmp_path: Path) -> Path:
    """A project whose script prints no fitness line: it runs for its own effects."""
    work = tmp_path / "project"
    work.mkdir()
    (work / "effects.py").write_text(EFFECTS)
    return work


def test_grid_sweep_without_a_metric_finishes_its_jobs_without_a_result(effects):
    """Studio.ml runs a grid of a script that prints no fitness line for its own effects."""
    work = effects
    out = _sweep(work, "--name", "effects", "--n-parallel", "2", "-hp", "lr=0.1,0.2", "-hp", "layers=:1",
                 "effects.py")
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("no metric was found") == 1 and "--metric" in out.stderr and "fitness:" in out.stderr
    assert "done: 4 finished (4 without a result)" in out.stdout and "0 failed" in out.stdout.splitlines()[-2]
    from tunelab import api

    result = api.load("effects", storage=f"sqlite:///{work.parent / 'db.sqlite'}")
    assert result.experiment.status == "finished" and result.best is None
    assert sorted((j.status, j.value, j.config["lr"], j.config["layers"]) for j in result.jobs) == [
        ("finished", None, lr, n) for lr in (0.1, 0.2) for n in (0, 1)]
    assert all(not a.error for j in result.jobs for a in j.attempts)
    jobs_folder = work.parent / "jobs"  # beside the storage
    assert len(list(jobs_folder.glob("*/job-*/attempt-1/workspace/out"))) == 4  # the script's effects
    frame = result.dataframe()
    assert list(frame["status"]) == ["finished"] * 4 and frame["value"].isna().all()
    show = _tunelab(work, "show", "effects")
    assert show.returncode == 0, show.stderr
    assert show.stdout.count("finished") >= 4
    csv_out = _tunelab(work, "export", "effects")
    assert csv_out.returncode == 0 and len(csv_out.stdout.strip().splitlines()) == 5
    json_out = _tunelab(work, "export", "effects", "--format", "json")
    assert [job["result"] for job in json.loads(json_out.stdout)["jobs"]] == [None] * 4


def test_optimizer_sweep_without_a_fitness_line_still_fails_its_jobs(effects):
    out = _sweep(effects, "--name", "opt-effects", "--optimizer", "random", "--n-samples", "2", "-hp", "lr=0:1",
                 "effects.py")
    assert out.returncode == 0, out.stderr  # Studio sweeps go on after a failure
    assert "2 failed" in out.stdout and "no metric was found" not in out.stderr
    assert {j["status"] for j in _jobs(effects, "opt-effects")} == {"failed"}


def test_studio_run_options_num_workers_and_max_duration(tmp_path):
    """`studio run --num-workers 2 --max-duration 2s`: a job over the limit is killed and fails."""
    work = tmp_path / "project"
    work.mkdir()
    (work / "sleepy.py").write_text("import time\nsecs = 0\ntime.sleep(secs)\nprint('fitness: %s' % secs)\n")
    out = _sweep(work, "--name", "limits", "--num-workers", "2", "--max-duration", "2s", "-hp", "secs=0,30",
                 "sleepy.py")
    assert out.returncode == 0, out.stderr
    jobs = {j["config"]["secs"]: j for j in _jobs(work, "limits")}
    assert jobs[0]["status"] == "finished" and jobs[0]["value"] == 0
    assert jobs[30]["status"] == "failed"
    from tunelab import api

    result = api.load("limits", storage=f"sqlite:///{work.parent / 'db.sqlite'}")
    assert result.experiment.spec["n_parallel"] == 2 and result.experiment.spec["job_timeout"] == 2


def test_sweep_usage_errors_exit_2(project):
    out = _sweep(project, "-hp", "lr=1:2:q", "train.py")
    assert out.returncode == 2 and "--hyperparam 'lr=1:2:q'" in out.stderr
    out = _sweep(project, "-hp", "lr=1", "missing.py")
    assert out.returncode == 2 and "missing.py" in out.stderr


def test_studio_all_lists_the_public_names():
    public = {name for name, value in vars(studio).items() if not name.startswith("_")
              and getattr(value, "__module__", studio.__name__) == studio.__name__ and not isinstance(value, type(os))}
    assert sorted(studio.__all__) == sorted(public)


def test_example_studio_sweep_runs(tmp_path):
    work = tmp_path / "project"
    work.mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "examples" / "studio_sweep" / "train.py", work / "train.py")
    out = _sweep(work, "--name", "example", "-hp", "C=1e-1:l3:10", "-hp", "gamma=1e-3", "train.py")
    assert out.returncode == 0, out.stderr
    jobs = _jobs(work, "example")
    assert sorted(j["config"]["C"] for j in jobs) == pytest.approx([0.1, 1.0, 10.0])
    assert all(0 < j["value"] <= 1 for j in jobs) and max(j["value"] for j in jobs) > 0.9


def test_array_parameters_fold_back_into_lists_for_substitution():
    spec, _ = build_spec(["w=0:1:3:a"], COMMAND, optimizer="cmaes")
    parse_spec(spec)
    assert studio.group_arrays({"w[1]": 0.2, "w[0]": 0.1, "w[2]": 0.3, "lr": 1}) == {"lr": 1, "w": [0.1, 0.2, 0.3]}
