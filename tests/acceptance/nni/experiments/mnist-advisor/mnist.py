"""Stand-in for NNI's examples/trials/mnist-advisor/mnist.py (MIT, see ../SOURCES.md).

The original trains a TensorFlow convolutional network on MNIST (a download) for
``TRIAL_BUDGET * 100`` mini-batches, the budget Hyperband gives each trial, reporting
the test accuracy every 100 batches and at the end. This one keeps that: the budget
sets the number of mini-batches of a linear SGD classifier on the bundled digits, with
``dropout_rate`` as its regularisation and ``learning_rate`` as its step size.
"""

import logging

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split

import tunelab.compat.nni as nni

logger = logging.getLogger("mnist_AutoML")


def main(params):
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(digits.data / 16.0, digits.target, test_size=0.25,
                                                        random_state=0)
    model = SGDClassifier(alpha=params["dropout_rate"] * 1e-3, learning_rate="constant",
                          eta0=params["learning_rate"] * 10, random_state=0)
    rng = np.random.default_rng(0)
    test_acc = 0.0
    for i in range(params["batch_num"]):
        batch = rng.choice(len(x_train), params["batch_size"])
        model.partial_fit(x_train[batch], y_train[batch], classes=list(range(10)))
        if i % 100 == 0:
            test_acc = model.score(x_test, y_test)
            nni.report_intermediate_result(test_acc)
    test_acc = model.score(x_test, y_test)
    nni.report_final_result(test_acc)


def generate_default_params():
    return {"data_dir": "/tmp/tensorflow/mnist/input_data", "dropout_rate": 0.5, "channel_1_num": 32,
            "channel_2_num": 64, "conv_size": 5, "pool_size": 2, "hidden_size": 1024, "learning_rate": 1e-4,
            "batch_size": 32}


if __name__ == "__main__":
    try:
        tuner_params = nni.get_next_parameter()
        logger.debug(tuner_params)
        tuner_params["batch_num"] = int(tuner_params["TRIAL_BUDGET"] * 100)
        params = generate_default_params()
        params.update(tuner_params)
        print(params)
        main(params)
    except Exception as exception:
        logger.exception(exception)
        raise
