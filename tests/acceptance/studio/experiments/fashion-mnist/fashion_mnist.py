"""Stand-in for Studio.ml's examples/keras/fashion_mnist.py (Apache-2.0, see ../../SOURCES.md).

The original trains a Keras MLP on Fashion-MNIST (a download) with SGD at ``lr = 0.01``
for ``int(sys.argv[1])`` epochs and writes TensorBoard logs, from which
``studio run --hyperparam=lr=... --metric=val_loss:min`` reads ``val_loss``. This one
keeps those lines (the ``lr`` assignment Studio.ml substitutes, the epoch argument, the
prints) and trains a softmax regression with numpy on the bundled digits, writing
``val_loss`` per epoch to a TensorBoard event file under ``logs/``.
"""

import os
import sys

import numpy as np
from sklearn.datasets import load_digits
from tfevents import write_events

digits = load_digits()
x = digits.data / 16.0
y = np.eye(10)[digits.target]
x_train, x_test, y_train, y_test = x[:1300], x[1300:], y[:1300], y[1300:]

batch_size = 128
no_epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
lr = 0.01

print('learning rate = {}'.format(lr))
print('batch size = {}'.format(batch_size))
print('no_epochs = {}'.format(no_epochs))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


w = np.zeros((x.shape[1], 10))
events = []
for epoch in range(no_epochs):
    for start in range(0, len(x_train), batch_size):
        xb, yb = x_train[start:start + batch_size], y_train[start:start + batch_size]
        w -= lr * xb.T.dot(softmax(xb.dot(w)) - yb) / len(xb)
    val_loss = float(-np.mean(np.sum(y_test * np.log(softmax(x_test.dot(w)) + 1e-12), axis=1)))
    events.append(("val_loss", val_loss, epoch))
os.makedirs("logs", exist_ok=True)
write_events("logs/events.out.tfevents.1", events)
