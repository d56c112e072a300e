"""DeepHyper's API on tunelab: change ``deephyper.hpo`` / ``deephyper.evaluator`` imports
to ``tunelab.compat.deephyper`` and the search runs on tunelab's engine.

Example:
    ::

        from tunelab.compat.deephyper import CBO, Evaluator, HpProblem

        problem = HpProblem()
        problem.add_hyperparameter((-10.0, 10.0), "x")

        def run(job):
            return -job.parameters["x"] ** 2  # DeepHyper maximizes

        if __name__ == "__main__":
            evaluator = Evaluator.create(run, method="process", method_kwargs={"num_workers": 2})
            results = CBO(problem, evaluator, random_state=42).search(max_evals=20)
"""

from tunelab.compat.deephyper.analysis import (
    figure_size,
    filter_failed_objectives,
    parameters_at_max,
    parameters_at_topk,
    parameters_from_row,
    plot_search_trajectory_single_objective_hpo,
    plot_worker_utilization,
    read_results_from_csv,
)
from tunelab.compat.deephyper.callback import TqdmCallback
from tunelab.compat.deephyper.evaluator import Evaluator, Job
from tunelab.compat.deephyper.problem import HpProblem
from tunelab.compat.deephyper.profiling import profile
from tunelab.compat.deephyper.search import (
    AMBS,
    CBO,
    ExperimentalDesignSearch,
    RandomSearch,
    RegularizedEvolution,
    Search,
)
from tunelab.compat.deephyper.solution import ArgMaxEstSelection, ArgMaxObsSelection, SolutionSelection

__version__ = "0.13.2"
"""The DeepHyper release whose API this package follows (scripts print ``deephyper.__version__``)."""

__all__ = ["AMBS", "ArgMaxEstSelection", "ArgMaxObsSelection", "CBO", "Evaluator", "ExperimentalDesignSearch",
           "HpProblem", "Job", "RandomSearch", "RegularizedEvolution", "Search", "SolutionSelection", "TqdmCallback",
           "figure_size", "filter_failed_objectives", "parameters_at_max", "parameters_at_topk", "parameters_from_row",
           "plot_search_trajectory_single_objective_hpo", "plot_worker_utilization", "profile", "read_results_from_csv"]
