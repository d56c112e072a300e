"""Gaussian-process Bayesian optimisation: kernel, regression, log EI and the proposer."""

from tunelab.proposers._gp.proposer import GPProposer

__all__ = ["GPProposer"]
