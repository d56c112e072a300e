"""Where jobs run: local processes, function workers, or the user (passive)."""

from tunelab._reports import Numbered, rank
from tunelab.executors._base import EXIT, REPORT, STARTED, Event, Executor, Launch
from tunelab.executors._salvage import Salvage, salvage
from tunelab.executors.function import FunctionExecutor, function_ref
from tunelab.executors.local import ScriptExecutor
from tunelab.executors.passive import PassiveExecutor

__all__ = [
    "EXIT",
    "REPORT",
    "STARTED",
    "Event",
    "Executor",
    "FunctionExecutor",
    "Launch",
    "Numbered",
    "PassiveExecutor",
    "Salvage",
    "ScriptExecutor",
    "function_ref",
    "rank",
    "salvage",
]
