"""Search algorithms (proposers) and their registry.

Use :func:`create` to build one by name with checked options, or import a class.
"""

from tunelab.proposers._anneal import AnnealProposer
from tunelab.proposers._asha import ASHAProposer
from tunelab.proposers._auto import AutoProposer
from tunelab.proposers._base import JobView, Proposal, Proposer
from tunelab.proposers._bohb import BOHBProposer
from tunelab.proposers._cmaes import CMAESProposer
from tunelab.proposers._evolution import EvolutionProposer
from tunelab.proposers._forest import SMACProposer
from tunelab.proposers._gp import GPProposer, ParEGOProposer
from tunelab.proposers._grid import BatchProposer, GridProposer
from tunelab.proposers._hyperband import HyperbandProposer
from tunelab.proposers._nsga2 import NSGA2Proposer
from tunelab.proposers._pbt import PBTProposer
from tunelab.proposers._qmc import QMCProposer
from tunelab.proposers._random import RandomProposer
from tunelab.proposers._registry import create, get, names, options, register
from tunelab.proposers._search import Search, sign_of
from tunelab.proposers._tpe import MOTPEProposer, TPEProposer

__all__ = [
    "ASHAProposer",
    "AnnealProposer",
    "AutoProposer",
    "BOHBProposer",
    "BatchProposer",
    "CMAESProposer",
    "EvolutionProposer",
    "GPProposer",
    "GridProposer",
    "HyperbandProposer",
    "JobView",
    "MOTPEProposer",
    "NSGA2Proposer",
    "PBTProposer",
    "ParEGOProposer",
    "Proposal",
    "Proposer",
    "QMCProposer",
    "RandomProposer",
    "SMACProposer",
    "Search",
    "TPEProposer",
    "create",
    "get",
    "names",
    "options",
    "register",
    "sign_of",
]
