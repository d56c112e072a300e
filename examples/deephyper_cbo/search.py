"""A DeepHyper CBO search running on tunelab: only the import line differs from DeepHyper.

Run: python search.py [MAX_EVALS]   (writes results.csv here)
"""

import sys

from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC

from tunelab.compat.deephyper import CBO, Evaluator, HpProblem  # was: from deephyper.hpo import ...

problem = HpProblem()
problem.add_hyperparameter((1e-2, 1e2, "log-uniform"), "C")
problem.add_hyperparameter((1e-4, 1e-1, "log-uniform"), "gamma")
problem.add_hyperparameter(["rbf", "sigmoid"], "kernel")
problem.add_starting_point(C=1.0, gamma=1e-3, kernel="rbf")


def run(job):
    """Cross-validated accuracy on the digits data; DeepHyper maximizes it."""
    X, y = load_digits(return_X_y=True)
    model = SVC(C=job.parameters["C"], gamma=job.parameters["gamma"], kernel=job.parameters["kernel"])
    scores = cross_val_score(model, X / 16.0, y, cv=3)
    return {"objective": float(scores.mean()), "metadata": {"std": float(scores.std())}}


if __name__ == "__main__":
    max_evals = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    evaluator = Evaluator.create(run, method="process", method_kwargs={"num_workers": 2})
    search = CBO(problem, evaluator, surrogate_model="RF", random_state=42, log_dir=".")
    results = search.search(max_evals=max_evals)
    print(results.sort_values("objective", ascending=False).head().to_string(index=False))
