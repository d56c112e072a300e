"""Early-stopping rules (stoppers) and their registry.

The engine calls ``stopper.decide(job, history)`` after each intermediate report and
stops the job on :attr:`Decision.STOP`. Build a rule by name with :func:`create`, or from
Auptimizer, NNI and DeepHyper settings with the ``from_*`` translators.
"""

from tunelab.stoppers._bandit import BanditStopper
from tunelab.stoppers._base import Decision, NeverStop, Stopper
from tunelab.stoppers._curve_fitting import CurveFittingStopper, predict_final
from tunelab.stoppers._median import MedianStopper
from tunelab.stoppers._registry import create, from_auptimizer, from_deephyper, from_nni, from_spec, names
from tunelab.stoppers._successive_halving import SuccessiveHalvingStopper
from tunelab.stoppers._truncation import TruncationStopper

__all__ = [
    "BanditStopper",
    "CurveFittingStopper",
    "Decision",
    "MedianStopper",
    "NeverStop",
    "Stopper",
    "SuccessiveHalvingStopper",
    "TruncationStopper",
    "create",
    "from_auptimizer",
    "from_deephyper",
    "from_nni",
    "from_spec",
    "names",
    "predict_final",
]
