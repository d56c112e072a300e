"""Stand-in for NNI's docs/source/tutorials/hpo_quickstart_pytorch/model.py (MIT, see ../../SOURCES.md).

The original trains PyTorch's quickstart network (two hidden layers of ``features``
units, SGD with ``lr`` and ``momentum``) on Fashion-MNIST (a download) for 5 epochs,
reporting the test accuracy after each epoch and at the end. This one keeps the
parameters, their defaults, the reports and the 5 epochs, and trains scikit-learn's MLP
with one hidden layer of ``features`` units on 300 of the bundled digits (a fast test).
"""

from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier

import tunelab.compat.nni as nni

params = {
    'features': 512,
    'lr': 0.001,
    'momentum': 0,
}

optimized_params = nni.get_next_parameter()
params.update(optimized_params)
print(params)

x, y = load_digits(return_X_y=True)
x = x / 16.0
x_train, y_train, x_test, y_test = x[:300], y[:300], x[1500:], y[1500:]
model = MLPClassifier(hidden_layer_sizes=(params['features'],), solver='sgd', batch_size=64,
                      learning_rate_init=params['lr'], momentum=params['momentum'], random_state=0)

epochs = 5
for t in range(epochs):
    model.partial_fit(x_train, y_train, classes=list(range(10)))
    accuracy = model.score(x_test, y_test)
    nni.report_intermediate_result(accuracy)
nni.report_final_result(accuracy)
