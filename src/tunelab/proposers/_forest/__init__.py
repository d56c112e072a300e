"""Random-forest Bayesian optimisation in the style of SMAC: surrogate and proposer."""

from tunelab.proposers._forest.proposer import SMACProposer

__all__ = ["SMACProposer"]
