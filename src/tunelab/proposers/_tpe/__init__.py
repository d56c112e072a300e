"""Tree-structured Parzen Estimator: the estimator (pure) and the proposer."""

from tunelab.proposers._tpe.estimator import ParzenEstimator
from tunelab.proposers._tpe.proposer import TPECore, TPEProposer

__all__ = ["ParzenEstimator", "TPECore", "TPEProposer"]
