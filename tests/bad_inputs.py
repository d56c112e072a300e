"""The battery of bad inputs: each row is one mistake a user can make, with the words its
one ``error:`` line must name (the field, the bad value, or the fix).

Rows are data, read by ``tests/test_bad_input_battery.py``:

* :data:`FILE_ROWS`: an experiment file (a native dict written as JSON, or raw text or
  bytes under a file name); ``tunelab validate`` and ``tunelab run`` must both refuse it,
  unless the row says ``run`` only (checks that need the storage).
* :data:`NNI_ROWS`: an NNI config (written as YAML beside ``space.json`` and ``train.py``).
* :data:`ARGV_ROWS`: a command line; ``{dir}`` is the working folder, ``{storage}`` the
  battery's database, ``{pg_secret}`` an unreachable server with a password.
* :data:`ENV_ROWS`: ``$TUNELAB_STORAGE`` values for ``tunelab ls``.

Every row expects exit code 2, one line, no traceback, and the database unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SECRET = "hunter2-Secret"
"""A password that must never be printed."""

PARAM = {"name": "x", "type": "float", "range": [0, 1]}
GOOD: dict[str, Any] = {"name": "bad", "script": "train.py", "n_samples": 2, "parameter_config": [PARAM]}
"""A valid experiment; rows change one thing in it."""


@dataclass
class Row:
    """One bad input and what its error line must say."""

    id: str
    input: Any
    words: list[str]
    run_only: bool = False
    filename: str = "exp.json"
    extra: dict[str, str] = field(default_factory=dict)


def _spec(**changes: Any) -> dict[str, Any]:
    spec = dict(GOOD)
    for key, value in changes.items():
        if value is _DROP:
            spec.pop(key, None)
        else:
            spec[key] = value
    return spec


_DROP = object()


def _param(**changes: Any) -> dict[str, Any]:
    entry = dict(PARAM)
    for key, value in changes.items():
        if value is _DROP:
            entry.pop(key, None)
        else:
            entry[key] = value
    return _spec(parameter_config=[entry])


def _field_rows(name: str, values: list[Any], words: list[str] | None = None) -> list[Row]:
    return [Row(f"{name}[{i}]={value!r}"[:60], _spec(**{name: value}), words or [name])
            for i, value in enumerate(values)]


FIELD_ROWS: list[Row] = [
    *_field_rows("n_samples", [True, False, 0, -3, "many", 2.5, [3], {"n": 1}]),
    *_field_rows("n_parallel", [True, 0, -1, 10**9, "two", 1.5, [2]]),
    *_field_rows("random_seed", [-1, 2**40, 2**31, True, "abc", 1.5, [1]]),
    *_field_rows("name", ["", "a\x00b", "a" * 10_000, "a" * 201, "tab\there", "new\nline", "bell\x07", 5, ["x"]]),
    *_field_rows("target", ["maximise", "", 1, True, ["min"], "MAX "]),
    *_field_rows("proposer", ["tpee", 5, "", ["tpe"], "Random Search"]),
    *_field_rows("proposer_args", [[1], "points=3", 5, True]),
    Row("proposer_args unknown option", _spec(proposer="sequence", proposer_args={"pointz": 3}),
        ["proposer_args", "'pointz'", "sequence"]),
    Row("proposer_args bad value", _spec(proposer="sequence", proposer_args={"points": 0}),
        ["proposer_args", "points"]),
    Row("top-level option of another proposer", _spec(proposer="random", points=3), ["points", "unknown key"]),
    *[Row(f"budget_name={v!r}", _spec(proposer="hyperband", budget_name=v), ["budget_name"])
      for v in (5, "", "two words", ["n"], True)],
    *_field_rows("resource", ["tpu", 1, "", "GPU0"]),
    *_field_rows("workingdir", ["nodir", "train.py", "sub/missing"]),
    Row("script missing .py", _spec(script="nope.py"), ["script", "'nope.py'", "not found"]),
    Row("script missing .sh", _spec(script="nope.sh"), ["script", "'nope.sh'"]),
    Row("script not executable", _spec(script="plain.sh"), ["script", "'plain.sh'", "chmod +x"]),
    Row("script is a folder", _spec(script="sub"), ["script", "'sub'"]),
    Row("script in another folder", _spec(script="../elsewhere/train.py"), ["script", "elsewhere"]),
    *_field_rows("script", [5, ["train.py"], True]),
    Row("script empty", _spec(script=""), ["script", "missing"]),
    Row("no script nor command", _spec(script=_DROP), ["script", "missing", "command"]),
    Row("script and command", _spec(command=["python3", "train.py"]), ["script", "command", "not several"]),
    Row("command empty", _spec(script=_DROP, command=[]), ["command", "argv"]),
    Row("command a string", _spec(script=_DROP, command="python3 train.py"), ["command"]),
    Row("command not on PATH", _spec(script=_DROP, command=["no-such-program-xyz", "{config}"]),
        ["command[0]", "'no-such-program-xyz'", "PATH"]),
    Row("command path missing", _spec(script=_DROP, command=["./bin/run", "{config}"]),
        ["command[0]", "'./bin/run'"]),
    Row("command path not executable", _spec(script=_DROP, command=["./plain.sh"]), ["command[0]", "chmod +x"]),
    Row("command PATH from env lacks it", _spec(script=_DROP, command=["python3", "train.py"],
                                                runtime_args={"env": {"PATH": "/nonexistent"}}),
        ["command[0]", "'python3'"]),
    Row("command of numbers", _spec(script=_DROP, command=[5]), ["command"]),
    *_field_rows("job_timeout", ["soon", -1, 0, "1 hour", [5], "-5m"]),
    *_field_rows("max_duration", ["forever", -5, 0, "1 week"]),
    *_field_rows("job_failure", ["x", 3, {"job_retries": -1}, {"job_retries": True}, {"retries": 1},
                                 {"ignore_fail": "maybe"}, {"job_retries": "two"}]),
    *_field_rows("resource_args", ["x", {"gpus": "0"}, {"gpus": ["a"]}, {"gpus_per_job": 0},
                                   {"gpus_per_job": True}, {"early_stop": "median"},
                                   {"early_stop": {"name": "magic"}}, {"early_stop": {"steps": 3}},
                                   {"early_stop": {"aup_policy": "psychic"}},
                                   {"early_stop": {"name": "median", "bogus_option": 1}},
                                   {"track_intermediate_results": "yes"}, {"save_model": "yes"},
                                   {"multi_res_labels": "a"}, {"unknown": 1}]),
    Row("gpu without GPUs", _spec(resource="gpu"), ["resource", "gpu", "cpu"]),
    Row("gpus_per_job above GPUs", _spec(resource="gpu", resource_args={"gpus": [0], "gpus_per_job": 2}),
        ["gpus_per_job", "2"]),
    *_field_rows("runtime_args", ["x", {"env": "A=1"}, {"env": {"A": 1}}, {"grace_period": -1},
                                  {"grace_period": "long"}, {"shell": True}]),
    *_field_rows("initial_configs", ["x", [5], [{"x": 7}], [{"x": 0.5, "y": 1}], [{"x": "half"}], {"x": 0.5}]),
    *_field_rows("history_from", ["nothere", [5], {"a": 1}]),
    Row("history_from unknown experiment", _spec(history_from=["ghost"]), ["history_from[0]", "'ghost'"],
        run_only=True),
    Row("history_from second unknown", _spec(history_from=["kept", "ghost2"]), ["history_from[1]", "'ghost2'"],
        run_only=True),
    *_field_rows("objectives", ["acc", [{"name": "a"}], [{"name": "a"}, {"name": "a"}],
                                [{"name": "a", "target": "up"}, {"name": "b"}], [{"target": "max"}, {"name": "b"}]]),
    Row("objectives with save_model", _spec(objectives=[{"name": "a"}, {"name": "b"}],
                                            resource_args={"save_model": True}), ["save_model", "Pareto"]),
    Row("objectives with a single-objective proposer", _spec(objectives=[{"name": "a"}, {"name": "b"}],
                                                              proposer="tpe"), ["proposer", "'tpe'"]),
    *[Row(f"unknown key {k}", _spec(**{k: 1}), [k, "unknown key"])
      for k in ("n_sample", "paramter_config", "scirpt", "foo", "resources", "seed")],
    Row("no budget at all", _spec(n_samples=_DROP), ["n_samples", "missing"]),
    Row("grid too large", _spec(n_samples=_DROP, proposer="sequence", parameter_config=[
        {"name": f"x{i}", "type": "float", "range": [0, 1], "n": 1000} for i in range(4)]),
        ["n_samples", "1,000,000,000,000", "sequence"]),
    Row("grid points per parameter", _spec(proposer="sequence", proposer_args={"points": 10**9}),
        ["proposer_args", "1,000,000,000"]),
]

PARAM_ROWS: list[Row] = [
    *[Row(f"parameter_config={v!r}", _spec(parameter_config=v), ["parameter_config"])
      for v in ("x", [], {}, 5, None, [5], ["x"], [[0, 1]])],
    Row("param no name", _param(name=_DROP), ["parameter_config[0].name"]),
    Row("param empty name", _param(name=""), ["parameter_config[0].name"]),
    Row("param name a number", _param(name=5), ["parameter_config[0].name", "5"]),
    Row("param reserved prefix", _param(name="tunelab_lr"), ["parameter_config[0].name", "'tunelab_'"]),
    Row("param duplicate names", _spec(parameter_config=[PARAM, PARAM]), ["parameter_config", "'x' repeats"]),
    *[Row(f"param type={v!r}", _param(type=v), ["parameter_config[0].type"])
      for v in ("real number", 5, "", "floaty", ["float"])],
    *[Row(f"param range={v!r}", _param(range=v), ["parameter_config[0].range"])
      for v in ("0-1", [5, 1], [1, 1], [0], [0, 1, 2], ["a", "b"], [True, False], None, {"low": 0},
                [-1e308, 1e308], [0, "1"])],
    Row("int non-integer bounds", _param(type="int", range=[1.5, 4]), ["parameter_config[0].range", "integer"]),
    Row("int huge log low 0", _param(type="int", range=[0, 10], log=True), ["parameter_config[0].range", "low > 0"]),
    Row("log low zero", _param(log=True), ["parameter_config[0].range", "low > 0"]),
    Row("log low negative", _param(range=[-1, 1], log=True), ["parameter_config[0].range"]),
    *[Row(f"param log={v!r}", _param(log=v), ["parameter_config[0].log"]) for v in ("yes", 1, "true")],
    *[Row(f"param step={v!r}", _param(step=v), ["parameter_config[0].step"]) for v in (5, -1, 0, "x", True)],
    Row("step with log", _param(range=[0.1, 1], log=True, step=0.1), ["parameter_config[0].step", "log"]),
    Row("int step larger than range", _param(type="int", range=[0, 3], step=10), ["parameter_config[0].step"]),
    *[Row(f"param round_to={v!r}", _param(round_to=v), ["parameter_config[0].round_to"]) for v in (-1, 0, "x")],
    *[Row(f"param n={v!r}", _param(n=v), ["parameter_config[0].n"]) for v in (0, -1, "x", True)],
    Row("param interval 0", _param(interval=0), ["parameter_config[0].interval"]),
    *[Row(f"choice range={v!r}", _param(type="choice", range=v), ["parameter_config[0].range"])
      for v in ([], "ab", 5, None)],
    Row("ordinal empty", _param(type="ordinal", range=[]), ["parameter_config[0].range"]),
    Row("constant no value", _param(type="constant", range=_DROP), ["parameter_config[0].value"]),
    Row("param when a string", _param(when="x"), ["parameter_config[0].when"]),
    Row("param when unknown parent", _param(when={"opt": ["sgd"]}), ["`when` names 'opt'", "earlier parameter"]),
    Row("param when later parent", _spec(parameter_config=[
        {"name": "m", "range": [0, 1], "when": {"opt": ["sgd"]}},
        {"name": "opt", "type": "choice", "range": ["sgd", "adam"]}]), ["`when` names 'opt'"]),
    Row("param when value not an option", _spec(parameter_config=[
        {"name": "opt", "type": "choice", "range": ["sgd", "adam"]},
        {"name": "m", "range": [0, 1], "when": {"opt": "rmsprop"}}]), ["m: `when`", "'opt'", "'rmsprop'"]),
    Row("param when a dict value", _spec(parameter_config=[
        {"name": "opt", "type": "choice", "range": ["sgd", "adam"]},
        {"name": "m", "range": [0, 1], "when": {"opt": {"a": 1}}}]), ["m: `when`", "'opt'"]),
    Row("param when no values", _spec(parameter_config=[
        {"name": "opt", "type": "choice", "range": ["sgd", "adam"]},
        {"name": "m", "range": [0, 1], "when": {"opt": []}}]), ["m: `when`", "never be used"]),
    Row("param default outside", _param(default=3), ["parameter_config[0].default", "3"]),
    Row("param default wrong type", _param(default="half"), ["parameter_config[0].default"]),
    Row("choice default not an option", _param(type="choice", range=["a", "b"], default="c"),
        ["parameter_config[0].default"]),
    *[Row(f"param unknown key {k}", _param(**{k: 1}), [f"parameter_config[0].{k}", "unknown key"])
      for k in ("rnage", "lgo", "values")],
    Row("param prior unknown", _param(prior="weird"), ["parameter_config[0].prior"]),
    Row("param not an object in second place", _spec(parameter_config=[PARAM, "y"]), ["parameter_config[1]"]),
]

RAW_ROWS: list[Row] = [
    Row("JSON syntax", '{"script": "train.py",', ["exp.json", "not valid JSON"]),
    Row("JSON trailing comma", '{"script": "train.py",}', ["not valid JSON"]),
    Row("JSON with comments", '// comment\n{"script": "train.py"}', ["not valid JSON"]),
    Row("invalid UTF-8", b'{"name": "caf\xe9", "script": "train.py"}', ["not UTF-8", "0xe9"]),
    Row("UTF-16 file", '{"script": "t.py"}'.encode("utf-16"), ["not UTF-8"]),
    Row("JSON a list", "[1, 2]", ["must hold an object", "list"]),
    Row("JSON a string", '"experiment"', ["must hold an object", "str"]),
    Row("JSON null", "null", ["must hold an object"]),
    Row("JSON empty file", "", ["not valid JSON"]),
    Row("YAML syntax", "script: [train.py\n", ["exp.yaml", "not valid YAML"], filename="exp.yaml"),
    Row("YAML tabs", "script:\ttrain.py\n\tn_samples: 2\n", ["not valid YAML"], filename="exp.yaml"),
    Row("YAML empty", "", ["must hold an object"], filename="exp.yaml"),
    Row("YAML list", "- a\n- b\n", ["must hold an object"], filename="exp.yml"),
    Row("YAML python tag", "script: !!python/object:os.system echo\n", ["not valid YAML"], filename="exp.yaml"),
    Row("TOML syntax", "script = \n", ["exp.toml", "not valid TOML"], filename="exp.toml"),
    Row("TOML duplicate key", 'script = "a"\nscript = "b"\n', ["not valid TOML"], filename="exp.toml"),
    Row("unknown extension", "[x]\n", ["unknown extension", ".json"], filename="exp.ini"),
    Row("no extension", "{}", ["unknown extension"], filename="experiment"),
]

NNI_GOOD: dict[str, Any] = {
    "searchSpaceFile": "space.json", "trialCommand": "python3 train.py", "trialConcurrency": 1,
    "maxTrialNumber": 2, "tuner": {"name": "TPE", "classArgs": {"optimize_mode": "maximize"}},
    "trainingService": {"platform": "local"},
}
"""A valid NNI config; rows change one thing in it."""


def _nni(**changes: Any) -> dict[str, Any]:
    data = dict(NNI_GOOD)
    for key, value in changes.items():
        if value is _DROP:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def _nni_space(space: Any) -> dict[str, Any]:
    return _nni(searchSpaceFile=_DROP, searchSpace=space)


NNI_ROWS: list[Row] = [
    *[Row(f"nni trialConcurrency={v!r}", _nni(trialConcurrency=v), ["trialConcurrency", repr(v)])
      for v in (0, -1, True, "2", 1.5)],
    *[Row(f"nni maxTrialNumber={v!r}", _nni(maxTrialNumber=v), ["maxTrialNumber", repr(v)])
      for v in ("many", 0, False)],
    Row("nni maxTrialNum v1 word", _nni(maxTrialNumber=_DROP, maxTrialNum="x"), ["maxTrialNum", "'x'"]),
    *[Row(f"nni maxExperimentDuration={v!r}", _nni(maxExperimentDuration=v), ["maxExperimentDuration", repr(v)])
      for v in ("1 hour", "soon", -5, "0s")],
    Row("nni maxTrialDuration word", _nni(maxTrialDuration="long"), ["maxTrialDuration", "'long'"]),
    *[Row(f"nni trialGpuNumber={v!r}", _nni(trialGpuNumber=v), ["trialGpuNumber", repr(v)])
      for v in ("two", -1, 1.5)],
    *[Row(f"nni gpuIndices={v!r}", _nni(trainingService={"platform": "local", "gpuIndices": v}),
          ["gpuIndices", repr(v)]) for v in ("a,b", [-1], "0,x", [True], {"a": 0})],
    Row("nni trialCommand unclosed quote", _nni(trialCommand="python3 'train.py"), ["trialCommand", "quote"]),
    Row("nni trialCommand missing", _nni(trialCommand=_DROP), ["trialCommand", "missing"]),
    Row("nni trialCommand program missing", _nni(trialCommand="no-such-program-xyz train.py"),
        ["command[0]", "'no-such-program-xyz'"]),
    Row("nni tuner classArgs list", _nni(tuner={"name": "TPE", "classArgs": [1]}), ["tuner.classArgs", "[1]"]),
    Row("nni tuner a string", _nni(tuner="TPE"), ["tuner", "'TPE'"]),
    Row("nni tuner missing", _nni(tuner=_DROP), ["tuner", "missing"]),
    Row("nni tuner unknown", _nni(tuner={"name": "Magic"}), ["tuner.name", "'Magic'"]),
    Row("nni tuner custom", _nni(tuner={"codeDir": "."}), ["tuner", "custom"]),
    Row("nni tuner without counterpart", _nni(tuner={"name": "PPOTuner"}), ["tuner.name", "nearest"]),
    Row("nni optimize_mode misspelt", _nni(tuner={"name": "TPE", "classArgs": {"optimize_mode": "maximise"}}),
        ["optimize_mode", "'maximise'"]),
    Row("nni assessor a string", _nni(assessor="Medianstop"), ["assessor", "'Medianstop'"]),
    Row("nni assessor unknown", _nni(assessor={"name": "Magic"}), ["assessor.name", "'Magic'"]),
    Row("nni assessor classArgs list", _nni(assessor={"name": "Medianstop", "classArgs": [1]}),
        ["assessor.classArgs"]),
    Row("nni unknown key", _nni(trialConcurency=2), ["trialConcurency", "not an NNI experiment key"]),
    Row("nni remote platform", _nni(trainingService={"platform": "remote"}), ["trainingService.platform", "'remote'"]),
    Row("nni searchSpaceFile missing", _nni(searchSpaceFile="nope.json"), ["searchSpaceFile", "'nope.json'"]),
    Row("nni no search space", _nni(searchSpaceFile=_DROP), ["searchSpaceFile", "missing"]),
    Row("nni searchSpace a list", _nni_space([1]), ["searchSpace"]),
    Row("nni space unknown _type", _nni_space({"x": {"_type": "gaussian", "_value": [0, 1]}}),
        ["searchSpace.x._type", "'gaussian'"]),
    Row("nni space choice empty", _nni_space({"x": {"_type": "choice", "_value": []}}), ["searchSpace.x._value"]),
    Row("nni space uniform reversed", _nni_space({"x": {"_type": "uniform", "_value": [1, 0]}}),
        ["searchSpace.x._value"]),
    Row("nni space loguniform from 0", _nni_space({"x": {"_type": "loguniform", "_value": [0, 1]}}),
        ["searchSpace.x._value", "low > 0"]),
    Row("nni space randint reversed", _nni_space({"x": {"_type": "randint", "_value": [5, 1]}}),
        ["searchSpace.x._value", "randint"]),
    Row("nni space entry not an object", _nni_space({"x": [0, 1]}), ["searchSpace.x"]),
    Row("nni nested option without _name", _nni_space({"m": {"_type": "choice", "_value": [
        {"lr": {"_type": "uniform", "_value": [0, 1]}}]}}), ["searchSpace.m._value[0]", "_name"]),
    Row("nni nested _name repeated", _nni_space({"m": {"_type": "choice", "_value": [
        {"_name": "a"}, {"_name": "a"}]}}), ["searchSpace.m._value", "unique"]),
    Row("nni space file invalid JSON", _nni(searchSpaceFile="broken.json"), ["broken.json", "not valid JSON"]),
]

ARGV_ROWS: list[Row] = [
    Row("--seed abc", ["run", "{dir}/good.json", "--seed", "abc"], ["--seed", "'abc'", "tunelab run --help"]),
    Row("--seed=abc", ["run", "{dir}/good.json", "--seed=abc"], ["--seed", "'abc'"]),
    Row("--seed -1", ["run", "{dir}/good.json", "--seed", "-1", "--storage", "{storage}"], ["random_seed", "-1"]),
    Row("--seed 2**40", ["run", "{dir}/good.json", "--seed", str(2**40), "--storage", "{storage}"],
        ["random_seed", str(2**40)]),
    Row("--n-samples x", ["run", "{dir}/good.json", "--n-samples", "x"], ["--n-samples", "'x'"]),
    Row("--n-samples 0", ["run", "{dir}/good.json", "--n-samples", "0", "--storage", "{storage}"], ["n_samples"]),
    Row("--n-parallel 0", ["run", "{dir}/good.json", "--n-parallel", "0", "--storage", "{storage}"],
        ["n_parallel"]),
    Row("--n-parallel 10**9", ["run", "{dir}/good.json", "--n-parallel", str(10**9), "--storage", "{storage}"],
        ["n_parallel", "10000"]),
    Row("--name empty", ["run", "{dir}/good.json", "--name", "", "--storage", "{storage}"], ["name"]),
    Row("--name with a tab", ["run", "{dir}/good.json", "--name", "a\tb", "--storage", "{storage}"],
        ["name", "control character"]),
    Row("--name taken", ["run", "{dir}/good.json", "--name", "kept", "--storage", "{storage}"],
        ["name", "'kept'", "tunelab resume kept"]),
    Row("--proposer unknown", ["run", "{dir}/good.json", "--proposer", "magic", "--storage", "{storage}"],
        ["proposer", "'magic'"]),
    Row("--run with a JSON file", ["run", "{dir}/good.json", "--run", "f:g"], ["--run", "good.json"]),
    Row("--live=maybe", ["run", "{dir}/good.json", "--live=maybe"], ["--live"]),
    Row("run missing file", ["run", "{dir}/nowhere.json", "--storage", "{storage}"], ["nowhere.json", "does not exist"]),
    Row("run a folder", ["run", "{dir}/sub", "--storage", "{storage}"], ["sub", "does not exist"]),
    Row("run no argument", ["run"], ["Missing argument", "tunelab run --help"]),
    Row("validate missing file", ["validate", "{dir}/nowhere.yaml"], ["nowhere.yaml", "does not exist"]),
    Row("unknown command", ["frobnicate"], ["frobnicate", "tunelab --help"]),
    Row("misspelt command", ["shwo", "kept"], ["shwo"]),
    Row("unknown option", ["ls", "--colour"], ["--colour"]),
    Row("option without value", ["ls", "--storage"], ["--storage"]),
    Row("export --format xml", ["export", "kept", "--format", "xml", "--storage", "{storage}"],
        ["--format", "'xml'", "csv"]),
    Row("export into a missing folder", ["export", "kept", "--storage", "{storage}", "-o", "{dir}/no/where.csv"],
        ["no/where.csv"]),
    Row("export unknown experiment", ["export", "ghost", "--storage", "{storage}"], ["'ghost'", "tunelab ls"]),
    Row("show unknown experiment", ["show", "ghost", "--storage", "{storage}"], ["'ghost'", "not found"]),
    Row("show unknown id", ["show", "999", "--storage", "{storage}"], ["'999'", "not found"]),
    Row("resume unknown experiment", ["resume", "ghost", "--storage", "{storage}"], ["'ghost'"]),
    Row("stop unknown experiment", ["stop", "ghost", "--storage", "{storage}"], ["'ghost'"]),
    Row("report unknown job", ["report", "kept", "999", "0.5", "--storage", "{storage}"], ["999"]),
    Row("report value a word", ["report", "kept", "1", "high", "--storage", "{storage}"], ["'value'", "number"]),
    Row("plot unknown kind", ["plot", "kept", "pie", "--storage", "{storage}"], ["pie"]),
    Row("dashboard port a word", ["dashboard", "--port", "http"], ["--port", "'http'"]),
    Row("dashboard port negative", ["dashboard", "--port", "-1", "--storage", "{storage}"], ["--port", "'-1'"]),
    Row("dashboard port too high", ["dashboard", "--port", "70000", "--storage", "{storage}"],
        ["--port", "'70000'", "65535"]),
    Row("dashboard host unknown", ["dashboard", "--host", "nosuchhost.invalid", "--port", "0", "--storage",
                                   "{storage}"], ["nosuchhost.invalid", "--host"]),
    Row("--storage empty", ["ls", "--storage", ""], ["--storage", "names no database"]),
    Row("--storage sqlite://", ["ls", "--storage", "sqlite://"], ["sqlite://", "sqlite:///path/to/tunelab.db"]),
    Row("--storage sqlite:///", ["ls", "--storage", "sqlite:///"], ["names no database"]),
    Row("--storage nonsense", ["ls", "--storage", "nonsense"], ["'nonsense'"]),
    Row("--storage unknown driver", ["ls", "--storage", "oracle+nope://u@h/db"], ["--storage", "oracle"]),
    Row("--storage a folder", ["ls", "--storage", "sqlite:///{dir}/sub"], ["is a folder"]),
    Row("--storage not a database", ["ls", "--storage", "sqlite:///{dir}/junk.db"], ["junk.db", "not a database"]),
    Row("--storage on a read-only file system", ["ls", "--storage", "sqlite:////proc/tunelab.db"],
        ["/proc/tunelab.db", "unable to open"]),
    Row("--storage folder cannot be made", ["ls", "--storage", "sqlite:////proc/tunelab/x.db"],
        ["cannot make the folder", "/proc/tunelab"]),
    Row("--storage another program's database", ["ls", "--storage", "sqlite:///{dir}/other.db"],
        ["other.db", "another program", "jobs"]),
    Row("--storage password, server down", ["ls", "--storage", "{pg_secret}"], ["--storage", "***"]),
    Row("--storage password, run", ["run", "{dir}/good.json", "--storage", "{pg_secret}"], ["***"]),
    Row("--storage password, mysql down", ["show", "kept", "--storage", f"mysql+pymysql://root:{SECRET}@127.0.0.1:9/x"],
        ["***"]),
    Row("storage upgrade empty URL", ["storage", "upgrade", "--storage", ""], ["names no database"]),
    Row("init -o file.xml", ["init", "-o", "{dir}/exp.xml", "--param", "x:float:0:1"], ["--output", "exp.xml"]),
    Row("init -o existing", ["init", "-o", "{dir}/good.json", "--param", "x:float:0:1"], ["--output", "exists"]),
    Row("init --n-samples 0", ["init", "-o", "{dir}/i.json", "--param", "x:float:0:1", "--n-samples", "0"],
        ["--n-samples", "0"]),
    Row("init --target maximum", ["init", "-o", "{dir}/i.json", "--param", "x:float:0:1", "--target", "maximum"],
        ["--target", "'maximum'"]),
    Row("init --proposer magic", ["init", "-o", "{dir}/i.json", "--param", "x:float:0:1", "--proposer", "magic"],
        ["proposer", "'magic'"]),
    Row("init --param malformed", ["init", "-o", "{dir}/i.json", "--param", "x:float"], ["--param", "'x:float'"]),
    Row("init --param bad kind", ["init", "-o", "{dir}/i.json", "--param", "x:real:0:1"], ["--param"]),
    Row("init --param reversed", ["init", "-o", "{dir}/i.json", "--param", "x:float:1:0"],
        ["parameter_config[0].range"]),
    Row("init --name with NUL", ["init", "-o", "{dir}/i.json", "--param", "x:float:0:1", "--name", "a\x00b"],
        ["--name", "control character"]),
    Row("import missing folder", ["import", "{dir}/nowhere", "--storage", "{storage}"], ["nowhere"]),
]

ENV_ROWS: list[Row] = [
    Row("TUNELAB_STORAGE nonsense", "bad:url", ["$TUNELAB_STORAGE", "'bad:url'"]),
    Row("TUNELAB_STORAGE sqlite://", "sqlite://", ["$TUNELAB_STORAGE", "names no database"]),
    Row("TUNELAB_STORAGE password", f"postgresql+psycopg://bob:{SECRET}@127.0.0.1:9/db", ["$TUNELAB_STORAGE", "***"]),
    Row("TUNELAB_STORAGE folder", "sqlite:///{dir}/sub", ["$TUNELAB_STORAGE", "is a folder"]),
]

POSTGRES_ROWS: list[Row] = [
    Row("postgres name of 300", _spec(name="n" * 300), ["name", "300 characters"]),
    Row("postgres random_seed 2**40", _spec(random_seed=2**40), ["random_seed", str(2**40)]),
    Row("postgres name with NUL", _spec(name="a\x00b"), ["name", "control character"]),
    Row("postgres history_from unknown", _spec(history_from=["ghost"]), ["history_from[0]"], run_only=True),
]

FILE_ROWS = FIELD_ROWS + PARAM_ROWS + RAW_ROWS
ALL_ROWS = FILE_ROWS + NNI_ROWS + ARGV_ROWS + ENV_ROWS + POSTGRES_ROWS
