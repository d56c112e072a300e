"""Gaussian-process Bayesian optimisation: kernel, regression, log EI, the proposer and
its multi-objective form (ParEGO)."""

from tunelab.proposers._gp.parego import ParEGOProposer
from tunelab.proposers._gp.proposer import GPProposer

__all__ = ["GPProposer", "ParEGOProposer"]
