"""tunelab.compat.nni_experiment: NNI's Python launch API, field by field and run for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write
from tunelab.compat import nni_experiment
from tunelab.compat.nni_experiment import AlgorithmConfig, Experiment, ExperimentConfig
from tunelab.exceptions import UserError


def test_config_fields_become_the_v3_document() -> None:
    config = ExperimentConfig("local")
    config.trial_command = "python model.py"
    config.search_space = {"x": {"_type": "uniform", "_value": [0, 1]}}
    config.tuner.name = "TPE"
    config.tuner.class_args["optimize_mode"] = "maximize"
    config.assessor = AlgorithmConfig("Medianstop", {"start_step": 2})
    config.max_trial_number = 3
    config.training_service.use_active_gpu = False
    assert config.to_v3() == {
        "trialCommand": "python model.py", "trialCodeDirectory": ".", "trialConcurrency": 1,
        "searchSpace": {"x": {"_type": "uniform", "_value": [0, 1]}}, "maxTrialNumber": 3,
        "tuner": {"name": "TPE", "classArgs": {"optimize_mode": "maximize"}},
        "assessor": {"name": "Medianstop", "classArgs": {"start_step": 2}},
        "trainingService": {"platform": "local", "useActiveGpu": False}}


def test_a_misspelt_field_names_the_valid_ones() -> None:
    config = ExperimentConfig()
    with pytest.raises(AttributeError, match="no field 'max_trial_num'.*max_trial_number"):
        config.max_trial_num = 3
    with pytest.raises(AttributeError, match="no field 'args'"):
        config.tuner.args = {}


def test_experiment_runs_reports_status_and_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "trial.py", """
        import tunelab.compat.nni as nni
        params = nni.get_next_parameter()
        nni.report_final_result(-(params["x"] - 2) ** 2)
    """)
    experiment = Experiment("local", storage=f"sqlite:///{tmp_path / 'db.sqlite'}")
    experiment.config.experiment_name = "quad"
    experiment.config.trial_command = "python trial.py"
    experiment.config.search_space = {"x": {"_type": "choice", "_value": [1, 2, 3]}}
    experiment.config.tuner.name = "GridSearch"
    experiment.config.tuner.class_args["optimize_mode"] = "maximize"
    assert experiment.get_status() == "INITIALIZED"
    assert experiment.run(8080) is True
    experiment.stop()
    assert experiment.get_status() == "DONE" and experiment.id == "quad"
    data = sorted(experiment.export_data(), key=lambda r: r.parameter["x"])
    assert [(r.parameter, r.value) for r in data] == [({"x": 1}, -1.0), ({"x": 2}, 0.0), ({"x": 3}, -1.0)]


def test_unsupported_platform_and_export_before_run_are_one_line_errors(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    experiment = Experiment("remote", storage=f"sqlite:///{tmp_path / 'db.sqlite'}")
    experiment.config.trial_command = "python trial.py"
    experiment.config.search_space = {"x": {"_type": "choice", "_value": [1]}}
    experiment.config.max_trial_number = 1
    with pytest.raises(UserError, match="remote") as info:
        experiment.run()
    assert "\n" not in str(info.value)
    with pytest.raises(UserError, match="run"):
        experiment.export_data()


def test_all_lists_the_public_names() -> None:
    public = {name for name, value in vars(nni_experiment).items() if not name.startswith("_")
              and getattr(value, "__module__", None) == nni_experiment.__name__}
    assert sorted(nni_experiment.__all__) == sorted(public)
