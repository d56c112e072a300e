"""NNI's nested search space example, on digits: each layer is a `_name` choice."""
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

import tunelab.compat.nni as nni


def build(model):
    """Turn NNI's nested value ({"_name": ..., ...}) into an estimator."""
    if model["_name"] == "svm":
        return SVC(C=model["C"], gamma="scale")
    return MLPClassifier(hidden_layer_sizes=(int(model["units"]),), max_iter=60, random_state=0)


if __name__ == "__main__":
    params = {"model": {"_name": "svm", "C": 1.0}}
    params.update(nni.get_next_parameter())
    x, y = load_digits(return_X_y=True)
    score = cross_val_score(build(params["model"]), x[:600] / 16.0, y[:600], cv=3).mean()
    nni.report_final_result(score)
