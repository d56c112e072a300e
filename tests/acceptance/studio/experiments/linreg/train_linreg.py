"""Stand-in for Studio.ml's examples/general/train_linreg.py (Apache-2.0, see ../../SOURCES.md).

The original runs 10 steps of gradient descent on random data at ``learning_rate = 0.01``,
prints the loss of each step and pickles the weights of each step into a Studio.ml
artifact folder; it prints no fitness line, so a sweep runs it for those effects. This
one keeps the loop and the prints (with a seeded generator) and writes each step's
weights as JSON into ``weights/`` (no ``fs_tracker``, no pickle).
"""

import json
import os

import numpy as np

no_samples = 100
dim_samples = 5

learning_rate = 0.01
no_steps = 10

rng = np.random.default_rng(0)
X = rng.random((no_samples, dim_samples))
y = rng.random((no_samples,))

w = rng.random((dim_samples,))

os.makedirs('weights', exist_ok=True)
for step in range(no_steps):
    yhat = X.dot(w)
    err = (yhat - y)
    dw = err.dot(X)
    w -= learning_rate * dw
    loss = 0.5 * err.dot(err)

    print("step = {}, loss = {}, L2 norm = {}".format(step, loss, w.dot(w)))

    with open(os.path.join('weights', 'lr_w_{}_{}.json'.format(step, loss)), 'w') as f:
        json.dump(w.tolist(), f)
