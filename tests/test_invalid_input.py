"""Bad input gets one clear line per problem, exit code 2, no traceback, and loses nothing."""

from __future__ import annotations

import json

import pytest

from tests.conftest import show, tunelab, write, write_experiment

GOOD = {"script": "train.py", "n_samples": 2,
        "parameter_config": [{"name": "x", "type": "float", "range": [0, 1]}]}

BAD_FILES = {
    "syntax": ("bad.json", '{"script": "train.py",', "is not valid JSON"),
    "extension": ("bad.ini", "[x]", "unknown extension"),
    "not an object": ("bad.json", "[1, 2]", "must hold an object"),
    "typo key": ("bad.json", {**GOOD, "n_sample": 3}, "n_sample: unknown key; did you mean 'n_samples'?"),
    "low > high": ("bad.json", {**GOOD, "parameter_config": [{"name": "x", "type": "float", "range": [5, 1]}]},
                   "parameter_config[0].range: expected [low, high] with low < high, got [5, 1]"),
    "unknown type": ("bad.json", {**GOOD, "parameter_config": [{"name": "x", "type": "real number", "range": [0, 1]}]},
                     "parameter_config[0].type: unknown type 'real number'"),
    "n_parallel 0": ("bad.json", {**GOOD, "n_parallel": 0}, "n_parallel: Input should be greater than or equal to 1"),
    "target": ("bad.json", {**GOOD, "target": "maximise"}, "target: Input should be 'min' or 'max', got 'maximise'"),
    "empty choice": ("bad.json", {**GOOD, "parameter_config": [{"name": "o", "type": "choice", "range": []}]},
                     "parameter_config[0].range: expected a non-empty list of values, got []"),
    "log low <= 0": ("bad.json", {**GOOD, "parameter_config": [{"name": "lr", "type": "float", "range": [0, 1],
                                                               "log": True}]},
                     "parameter_config[0].range: a log-scale parameter needs low > 0, got [0, 1]"),
    "int bounds": ("bad.json", {**GOOD, "parameter_config": [{"name": "u", "type": "int", "range": [1.5, 4]}]},
                   "parameter_config[0].range: an int parameter needs integer bounds, got [1.5, 4]"),
    "no script": ("bad.json", {k: v for k, v in GOOD.items() if k != "script"}, "script: missing"),
    "unknown proposer": ("bad.json", {**GOOD, "proposer": "tpee"}, "proposer: unknown name 'tpee'"),
    "unknown option": ("bad.json", {**GOOD, "proposer": "sequence", "proposer_args": {"pointz": 3}},
                       "proposer_args: 'pointz' is not an option of proposer 'sequence'"),
    "duplicate names": ("bad.json", {**GOOD, "parameter_config": [{"name": "x", "range": [0, 1]},
                                                                   {"name": "x", "range": [0, 1]}]},
                        "parameter names must be unique"),
    "initial config": ("bad.json", {**GOOD, "initial_configs": [{"x": 7}]},
                       "initial_configs[0].x: x must lie in [0, 1], got 7"),
    "timeout": ("bad.json", {**GOOD, "job_timeout": "soon"}, "job_timeout: expected seconds or a duration"),
    "when unknown parent": ("bad.json", {**GOOD, "parameter_config": [
        {"name": "m", "range": [0, 1], "when": {"opt": ["sgd"]}}]}, "which must be an earlier parameter"),
    "retries": ("bad.json", {**GOOD, "job_failure": {"job_retries": -1}}, "job_failure.job_retries"),
    "default outside range": ("bad.json", {**GOOD, "parameter_config": [{"name": "x", "range": [0, 1], "default": 3}]},
                              "parameter_config[0].default: x must lie in [0, 1], got 3"),
    "range not a list": ("bad.json", {**GOOD, "parameter_config": [{"name": "x", "range": "0-1"}]},
                         "parameter_config[0].range: expected [low, high]"),
}


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    """A storage that already holds a finished experiment, shared by the cases below."""
    folder = tmp_path_factory.mktemp("kept")
    write(folder / "train.py", "print('#Auptimizer:0.5')\n")
    url = f"sqlite:///{folder / 'tunelab.db'}"
    exp = write_experiment(folder, name="kept", **GOOD)
    assert tunelab("run", str(exp), "--storage", url, cwd=folder).returncode == 0
    return url, show("kept", url)


@pytest.fixture
def storage_url(kept):
    return kept[0]


@pytest.fixture
def recorded(kept):
    return kept[1]


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_invalid_experiment_file(workdir, storage_url, recorded, case):
    filename, content, expected = BAD_FILES[case]
    path = workdir / filename
    path.write_text(content if isinstance(content, str) else json.dumps({"name": "bad", **content}))
    for command in ("run", "validate"):
        args = [command, str(path)] + (["--storage", storage_url] if command == "run" else [])
        out = tunelab(*args)
        assert out.returncode == 2, (case, out.stdout, out.stderr)
        assert expected in out.stderr, (case, out.stderr)
        assert "Traceback" not in out.stderr
        assert all(line.startswith("error: ") for line in out.stderr.strip().splitlines())
    assert show("kept", storage_url) == recorded


def test_every_problem_is_reported_at_once(workdir):
    path = write_experiment(workdir, target="up", n_parallel=-1, parameter_config=[
        {"name": "x", "range": [2, 1]}, {"name": "y", "type": "choice", "range": "ab"}])
    out = tunelab("validate", str(path))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 5, lines
    assert any(line.startswith("error: parameter_config[1].range") for line in lines)


def test_missing_file_unknown_experiment_and_bad_storage(workdir, storage_url, recorded):
    out = tunelab("run", "nowhere.json", "--storage", storage_url)
    assert out.returncode == 2 and "does not exist" in out.stderr
    out = tunelab("show", "ghost", "--storage", storage_url)
    assert out.returncode == 2 and "experiment 'ghost' not found" in out.stderr
    out = tunelab("ls", "--storage", "nosuchdb://x")
    assert out.returncode == 2 and "--storage" in out.stderr and "Traceback" not in out.stderr
    out = tunelab("resume", "ghost", "--storage", storage_url)
    assert out.returncode == 2
    assert show("kept", storage_url) == recorded


def test_same_name_twice_is_refused_and_keeps_the_first(workdir, storage_url, recorded):
    write(workdir / "elsewhere.py", "print('#Auptimizer:0.1')\n")
    exp = write_experiment(workdir, name="kept", **{**GOOD, "script": "elsewhere.py"})
    out = tunelab("run", str(exp), "--storage", storage_url)
    assert out.returncode == 2
    assert "tunelab resume kept" in out.stderr
    assert show("kept", storage_url) == recorded
