"""Stand-in for NNI's examples/trials/mnist-pytorch/mnist.py (MIT, see ../SOURCES.md).

The original trains a PyTorch MLP on MNIST, which it downloads. This one keeps the
trial's shape, the part tunelab runs: the same argparse defaults, the tuner's values
merged over them with ``merge_parameter``, one intermediate test accuracy per epoch and
the last one as the final result. It trains scikit-learn's MLP on 600 of the bundled digits (a fast test).
Only the two ``nni`` imports differ from an NNI trial.
"""

import argparse
import logging

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import tunelab.compat.nni as nni
from tunelab.compat.nni import merge_parameter

logger = logging.getLogger("mnist_AutoML")


def main(args):
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(digits.data / 16.0, digits.target, train_size=600,
                                                        test_size=300, random_state=args["seed"])
    model = MLPClassifier(hidden_layer_sizes=(args["hidden_size"],), solver="sgd", batch_size=args["batch_size"],
                          learning_rate_init=args["lr"], momentum=args["momentum"], random_state=args["seed"])
    test_acc = 0.0
    for epoch in range(1, args["epochs"] + 1):
        model.partial_fit(x_train, y_train, classes=list(range(10)))
        test_acc = model.score(x_test, y_test)
        logger.debug("epoch %d: test accuracy %g", epoch, test_acc)
        nni.report_intermediate_result(test_acc)
    nni.report_final_result(test_acc)


def get_params():
    parser = argparse.ArgumentParser(description="digits stand-in of the PyTorch MNIST example")
    parser.add_argument("--data_dir", type=str, default="./data")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--batch_num", type=int, default=None)
    parser.add_argument("--hidden_size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no_cuda", action="store_true", default=False)
    parser.add_argument("--log_interval", type=int, default=1000)
    args, _ = parser.parse_known_args()
    return args


if __name__ == "__main__":
    try:
        tuner_params = nni.get_next_parameter()
        logger.debug(tuner_params)
        params = vars(merge_parameter(get_params(), tuner_params))
        print(params)
        main(params)
    except Exception as exception:
        logger.exception(exception)
        raise
