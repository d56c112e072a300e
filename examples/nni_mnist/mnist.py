"""NNI's mnist-pytorch trial, shrunk to scikit-learn's digits; only the import changed.

Runs on its own too (``python mnist.py``): ``get_next_parameter()`` then returns ``{}``
and the defaults below are used.
"""
import logging

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import tunelab.compat.nni as nni

logger = logging.getLogger("mnist_digits")


def get_params():
    """Default hyperparameters, as NNI's example does."""
    return {"hidden_size": 32, "lr": 0.01, "momentum": 0.5, "batch_size": 64, "epochs": 5}


def main(params):
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x / 16.0, y, test_size=0.3, random_state=0)
    model = MLPClassifier(hidden_layer_sizes=(int(params["hidden_size"]),), solver="sgd",
                          learning_rate_init=params["lr"], momentum=params["momentum"],
                          batch_size=int(params["batch_size"]), random_state=0)
    accuracy = 0.0
    for _ in range(int(params["epochs"])):
        model.partial_fit(x_train, y_train, classes=list(range(10)))
        accuracy = model.score(x_test, y_test)
        nni.report_intermediate_result(accuracy)
    nni.report_final_result({"default": accuracy, "train_accuracy": model.score(x_train, y_train)})


if __name__ == "__main__":
    params = get_params()
    params.update(nni.get_next_parameter())
    logger.debug(params)
    main(params)
