"""NNI's Python launch API on tunelab: ``from nni.experiment import Experiment`` becomes
``from tunelab.compat.nni_experiment import Experiment``.

NNI's HPO quickstart configures and runs an experiment from Python::

    experiment = Experiment("local")
    experiment.config.trial_command = "python model.py"
    experiment.config.trial_code_directory = "."
    experiment.config.search_space = search_space
    experiment.config.tuner.name = "TPE"
    experiment.config.tuner.class_args["optimize_mode"] = "maximize"
    experiment.config.max_trial_number = 10
    experiment.config.trial_concurrency = 2
    experiment.run(8080)

The snake_case config fields are the v3 YAML keys in Python spelling; :meth:`Experiment.run`
turns them into that YAML's dict and hands it to the same translator as ``tunelab run
config.yml`` (:mod:`tunelab.formats.nni`), with relative paths taken from the current
directory, as NNI does. The run blocks until the experiment ends; there is no web UI
port (``tunelab dashboard`` shows the storage instead).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunelab.exceptions import UserError

__all__ = ["AlgorithmConfig", "Experiment", "ExperimentConfig", "TrainingServiceConfig", "TrialResult"]

_STATUS = {"finished": "DONE", "failed": "ERROR", "stopped": "STOPPED", "interrupted": "STOPPED"}
"""tunelab's experiment statuses as NNI's ``get_status()`` names them."""


class _Fields:
    """Attributes limited to NNI's field names: a misspelt one is an error naming the valid ones."""

    _fields: tuple[str, ...] = ()

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._fields:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}; valid fields: {', '.join(self._fields)}")
        object.__setattr__(self, name, value)


class AlgorithmConfig(_Fields):
    """A tuner, assessor or advisor: ``name`` and ``class_args``."""

    _fields = ("name", "class_args")

    def __init__(self, name: str | None = None, class_args: dict[str, Any] | None = None) -> None:
        self.name = name
        self.class_args = dict(class_args or {})

    def to_v3(self) -> dict[str, Any] | None:
        """``{"name": ..., "classArgs": ...}``, or None when no name was set."""
        return {"name": self.name, "classArgs": self.class_args} if self.name else None


class TrainingServiceConfig(_Fields):
    """``trainingService``: the ``platform`` and the local options NNI's examples set
    (``use_active_gpu``, ``gpu_indices``, ``max_trial_number_per_gpu``)."""

    _V3 = {"platform": "platform", "use_active_gpu": "useActiveGpu", "gpu_indices": "gpuIndices",
           "max_trial_number_per_gpu": "maxTrialNumberPerGpu"}
    _fields = tuple(_V3)

    def __init__(self, platform: str = "local") -> None:
        for name in self._V3:
            setattr(self, name, None)
        self.platform = platform

    def to_v3(self) -> dict[str, Any]:
        """``{"platform": ..., "useActiveGpu": ...}`` with the fields that were set."""
        return {key: getattr(self, name) for name, key in self._V3.items() if getattr(self, name) is not None}


class ExperimentConfig(_Fields):
    """NNI's experiment config with its v3 fields in snake_case (``trial_command``,
    ``search_space``, ``max_trial_number``, ``tuner.name``, ...)."""

    _V3 = {"experiment_name": "experimentName", "search_space_file": "searchSpaceFile",
           "search_space": "searchSpace", "trial_command": "trialCommand",
           "trial_code_directory": "trialCodeDirectory", "trial_concurrency": "trialConcurrency",
           "trial_gpu_number": "trialGpuNumber", "max_experiment_duration": "maxExperimentDuration",
           "max_trial_duration": "maxTrialDuration", "max_trial_number": "maxTrialNumber",
           "use_annotation": "useAnnotation"}
    _fields = (*_V3, "tuner", "assessor", "advisor", "training_service")

    def __init__(self, training_service: str = "local", **fields: Any) -> None:
        for name in self._V3:
            setattr(self, name, None)
        self.trial_code_directory = "."
        self.trial_concurrency = 1
        self.tuner, self.assessor, self.advisor = AlgorithmConfig(), AlgorithmConfig(), AlgorithmConfig()
        self.training_service = TrainingServiceConfig(training_service)
        for name, value in fields.items():
            setattr(self, name, value)

    def to_v3(self) -> dict[str, Any]:
        """The v3 YAML document these fields stand for."""
        data = {key: getattr(self, name) for name, key in self._V3.items() if getattr(self, name) is not None}
        for name in ("tuner", "assessor", "advisor"):
            algorithm = getattr(self, name)
            document = algorithm.to_v3() if isinstance(algorithm, AlgorithmConfig) else algorithm
            if document:
                data[name] = document
        service = self.training_service
        data["trainingService"] = service.to_v3() if isinstance(service, TrainingServiceConfig) else service
        return data


@dataclass
class TrialResult:
    """One finished trial, as NNI's ``export_data()`` lists them."""

    parameter: dict[str, Any]
    value: float | None
    trialJobId: str  # noqa: N815 - NNI's field name


class Experiment:
    """An NNI experiment run by tunelab.

    Args:
        config_or_platform: an :class:`ExperimentConfig`, or the training platform
            (``"local"``, the only one tunelab runs; others fail with one line on run).
        storage: tunelab's database URL (default ``$TUNELAB_STORAGE`` or
            ``./.tunelab/tunelab.db``).
    """

    def __init__(self, config_or_platform: ExperimentConfig | str | None = "local",
                 storage: str | None = None) -> None:
        if isinstance(config_or_platform, ExperimentConfig):
            self.config = config_or_platform
        else:
            self.config = ExperimentConfig(config_or_platform or "local")
        self.storage = storage
        self.id: str | None = None
        self._status = "INITIALIZED"

    def run(self, port: int = 8080, wait_completion: bool = True, debug: bool = False) -> bool:
        """Run the experiment to its end; True when it finished, False when it failed.

        ``port`` and ``debug`` are accepted for NNI's signature; the run always waits.

        Raises:
            UserError: a config tunelab cannot run; one line naming the field and the fix.
        """
        from tunelab import api
        from tunelab.formats import nni

        spec = nni.translate(self.config.to_v3(), Path.cwd() / "experiment.yml")
        if not self.config.experiment_name:
            spec["name"] = f"nni-{time.strftime('%Y%m%d-%H%M%S')}"
        self._status = "RUNNING"
        result = api.run(spec, storage=self.storage)
        self.id = result.experiment.name
        self._status = _STATUS.get(result.experiment.status, "ERROR")
        message = result.experiment.message or result.experiment.status
        print(f"experiment {self.id}: {message}")
        return self._status == "DONE"

    def start(self, port: int = 8080, debug: bool = False) -> None:
        """NNI starts in the background; here the experiment runs to its end before this returns."""
        self.run(port, debug=debug)

    def stop(self) -> None:
        """Nothing left to stop: :meth:`run` returns once the experiment has ended."""

    def get_status(self) -> str:
        """``INITIALIZED``, ``RUNNING``, ``DONE``, ``ERROR`` or ``STOPPED``, as NNI names them."""
        return self._status

    def export_data(self) -> list[TrialResult]:
        """The finished trials with their parameters and final values."""
        if self.id is None:
            raise UserError("export_data: the experiment has not run; call experiment.run() first")
        from tunelab import api

        result = api.load(self.id, storage=self.storage)
        return [TrialResult(job.config, job.value, str(job.id)) for job in result.search_jobs
                if job.status == "finished"]
