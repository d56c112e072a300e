"""Stand-in for NNI's examples/trials/mnist-nested-search-space/mnist.py (MIT, see ../SOURCES.md).

The original builds a TensorFlow network of four layers, each ``Empty``, ``Conv``,
``Max_pool`` or ``Avg_pool``, from NNI's nested choices, and trains it on MNIST (a
download). This one reads the nested parameters the same way (``layerN`` is a dict with
``_name`` and that choice's own keys), turns each into ``[name, size, size]`` as the
original does, prints them, and applies the layers as 2-D filters to the bundled 8x8
digits before a logistic regression; the test accuracy is the final result.
"""

import argparse
import logging

import numpy as np
from scipy import ndimage
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

import tunelab.compat.nni as nni

logger = logging.getLogger("mnist_nested")


def apply_layer(images, layer):
    name = layer[0]
    if name == "Empty":
        return images
    size = (1, layer[1], layer[2])
    if name == "Conv":
        return ndimage.uniform_filter(images, size=size)
    if name == "Max_pool":
        return ndimage.maximum_filter(images, size=size)
    if name == "Avg_pool":
        return ndimage.uniform_filter(images, size=size)
    raise Exception(f"{name} layer is illegal")


def main(params):
    digits = load_digits()
    images = digits.images / 16.0
    for i in range(4):
        images = apply_layer(images, params[f"layer{i}"])
    x_train, x_test, y_train, y_test = train_test_split(images.reshape(len(images), -1), digits.target,
                                                        test_size=0.25, random_state=0)
    model = LogisticRegression(max_iter=params["batch_num"] // 5)
    model.fit(x_train, y_train)
    test_acc = float(np.mean(model.predict(x_test) == y_test))
    nni.report_final_result(test_acc)


def get_params():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data_dir", type=str, default="/tmp/tensorflow/mnist/input_data")
    parser.add_argument("--batch_num", type=int, default=1000)
    parser.add_argument("--batch_size", type=int, default=200)
    args, _ = parser.parse_known_args()
    return args


def layers_of(data):
    """Each ``layerN`` as ``[name]`` or ``[name, size, size]``, as the original builds them."""
    params = {}
    for key, value in data.items():
        name = value["_name"]
        if name == "Empty":
            params[key] = ["Empty"]
        else:
            size = value["kernel_size"] if name == "Conv" else value["pooling_size"]
            params[key] = [name, size, size]
    return params


if __name__ == "__main__":
    try:
        data = nni.get_next_parameter()
        logger.debug(data)
        received = layers_of(data)
        params = vars(get_params())
        params.update(received)
        print(received)
        main(params)
    except Exception as exception:
        logger.exception(exception)
        raise
