"""Tree-structured Parzen Estimator: the estimator (pure), the proposer and its
multi-objective form."""

from tunelab.proposers._tpe.estimator import ParzenEstimator
from tunelab.proposers._tpe.multiobjective import MOTPECore, MOTPEProposer
from tunelab.proposers._tpe.proposer import TPECore, TPEProposer

__all__ = ["MOTPECore", "MOTPEProposer", "ParzenEstimator", "TPECore", "TPEProposer"]
