"""Train a small MLP classifier on MNIST (or scikit-learn's digits) for tunelab to tune.

Tuned: the learning rate (``lr``, log scale), the hidden units (``units``), the L2
regularisation (``alpha``, log scale) and the batch size (``batch_size``). The network is
trained epoch by epoch with ``partial_fit``; after each epoch the validation accuracy is
reported, so tunelab can draw learning curves and stop hopeless jobs early.

Run by hand with the defaults: ``python train.py``. tunelab runs it as
``python train.py <job config path>``.

Data, first available wins:

1. ``mnist.npz`` (Keras layout: ``x_train``, ``y_train``, ``x_test``, ``y_test``) in
   ``$MNIST_DIR``, beside this script or in the working directory;
2. MNIST from OpenML (``fetch_openml("mnist_784")``), only when
   ``TUNELAB_ALLOW_DOWNLOAD=1`` (cached by scikit-learn afterwards);
3. scikit-learn's bundled 8x8 digits (1,797 images): always there, offline and fast.

The model is saved, without pickle, as ``model.npz`` (weights) and ``model.json``
(parameters and scores) when tunelab runs the best configuration again with
``save_model``; :func:`load_model` reads it back.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunelab import trial

DEFAULTS: dict[str, Any] = {"lr": 1e-3, "units": 64, "alpha": 1e-4, "batch_size": 32, "epochs": 8}
"""Used for anything the job's config does not set (and when run by hand)."""

MNIST_TRAIN_SIZE = int(os.environ.get("MNIST_TRAIN_SIZE", "10000"))
"""Training images taken from real MNIST (the full 60,000 is slow for a demo)."""

MNIST_VAL_SIZE = int(os.environ.get("MNIST_VAL_SIZE", "2000"))
"""Validation images taken from MNIST's test set."""


@dataclass
class Data:
    """Train and validation arrays, pixels scaled to [0, 1]."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def _mnist_file() -> Path | None:
    folders = [os.environ.get("MNIST_DIR"), str(Path(__file__).resolve().parent), os.getcwd()]
    for folder in filter(None, folders):
        path = Path(folder) / "mnist.npz"
        if path.is_file():
            return path
    return None


def _subset(x: np.ndarray, y: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    if len(x) <= size:
        return x, y
    index = np.random.default_rng(0).permutation(len(x))[:size]
    return x[index], y[index]


def _mnist(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, name: str) -> Data:
    x_train, y_train = _subset(x_train.reshape(len(x_train), -1), y_train, MNIST_TRAIN_SIZE)
    x_val, y_val = _subset(x_val.reshape(len(x_val), -1), y_val, MNIST_VAL_SIZE)
    return Data(name, x_train / 255.0, y_train.astype(int), x_val / 255.0, y_val.astype(int))


def load_data() -> Data:
    """MNIST from a local file or a permitted download, else scikit-learn's digits."""
    path = _mnist_file()
    if path is not None:
        with np.load(path, allow_pickle=False) as arrays:
            return _mnist(arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"], f"mnist ({path})")
    if os.environ.get("TUNELAB_ALLOW_DOWNLOAD") == "1":
        from sklearn.datasets import fetch_openml

        x, y = fetch_openml("mnist_784", version=1, as_frame=False, return_X_y=True)
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y).astype(int)
        return _mnist(x[:60000], y[:60000], x[60000:], y[60000:], "mnist (openml)")
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    index = np.random.default_rng(0).permutation(len(x))
    val, train = index[: len(x) // 4], index[len(x) // 4:]
    return Data("digits (scikit-learn, offline fallback)", x[train] / 16.0, y[train], x[val] / 16.0, y[val])


def log_loss(y_true: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    """Mean cross-entropy of the predicted class probabilities (numpy only)."""
    column = np.searchsorted(classes, y_true)
    picked = np.clip(proba[np.arange(len(y_true)), column], 1e-15, 1.0)
    return float(-np.mean(np.log(picked)))


def save_model(model: Any, folder: str, config: dict[str, Any], scores: dict[str, float]) -> None:
    """Write the weights to ``model.npz`` and the parameters to ``model.json`` (no pickle)."""
    arrays = {f"coef_{i}": w for i, w in enumerate(model.coefs_)}
    arrays.update({f"intercept_{i}": b for i, b in enumerate(model.intercepts_)})
    arrays["classes"] = np.asarray(model.classes_)
    np.savez(Path(folder) / "model.npz", **arrays)
    params = {k: config[k] for k in DEFAULTS if k in config}
    meta = {"params": params, "scores": scores, "layers": len(model.coefs_), "activation": model.activation,
            "output_activation": model.out_activation_}
    (Path(folder) / "model.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")


def load_model(folder: str | Path) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Read what :func:`save_model` wrote: weights, biases and class labels."""
    with np.load(Path(folder) / "model.npz", allow_pickle=False) as arrays:
        layers = json.loads((Path(folder) / "model.json").read_text(encoding="utf-8"))["layers"]
        coefs = [arrays[f"coef_{i}"] for i in range(layers)]
        intercepts = [arrays[f"intercept_{i}"] for i in range(layers)]
        return coefs, intercepts, arrays["classes"]


def predict(folder: str | Path, x: np.ndarray) -> np.ndarray:
    """Class predictions of a saved model (ReLU hidden layers), with numpy only."""
    coefs, intercepts, classes = load_model(folder)
    hidden = x
    for w, b in zip(coefs[:-1], intercepts[:-1]):
        hidden = np.maximum(hidden @ w + b, 0.0)
    return classes[np.argmax(hidden @ coefs[-1] + intercepts[-1], axis=1)]


def save_checkpoint(model: Any, folder: str, epoch: int) -> None:
    """Keep the weights after ``epoch`` in the configuration's checkpoint folder (no pickle)."""
    arrays = {f"coef_{i}": w for i, w in enumerate(model.coefs_)}
    arrays.update({f"intercept_{i}": b for i, b in enumerate(model.intercepts_)})
    np.savez(Path(folder) / "checkpoint.npz", **arrays)
    (Path(folder) / "checkpoint.json").write_text(json.dumps({"epoch": epoch, "layers": len(model.coefs_)}))


def restore_checkpoint(model: Any, folder: str, data: Data, classes: np.ndarray) -> int:
    """Load the configuration's last weights; returns the epochs already trained (0 if none).

    A promoted configuration (Hyperband, ASHA) continues from here instead of retraining.
    The optimizer's moment estimates start afresh: scikit-learn does not expose them.
    """
    meta_path = Path(folder) / "checkpoint.json"
    if not meta_path.is_file():
        return 0
    meta = json.loads(meta_path.read_text())
    model.partial_fit(data.x_train[:1], data.y_train[:1], classes=classes)
    with np.load(Path(folder) / "checkpoint.npz", allow_pickle=False) as arrays:
        model.coefs_ = [arrays[f"coef_{i}"] for i in range(meta["layers"])]
        model.intercepts_ = [arrays[f"intercept_{i}"] for i in range(meta["layers"])]
    print(f"continuing from the checkpoint of epoch {meta['epoch']}", file=sys.stderr)
    return int(meta["epoch"])


def main() -> None:
    """Train, report per-epoch validation accuracy, report the final result, save the model."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    config = trial.load_config(defaults=DEFAULTS)
    budget = trial.budget()
    epochs = max(1, int(round(budget))) if budget is not None else int(config["epochs"])
    data = load_data()
    print(f"data: {data.name}, {len(data.x_train)} train / {len(data.x_val)} validation; "
          f"config {dict(config)}, {epochs} epochs", file=sys.stderr)

    model = MLPClassifier(hidden_layer_sizes=(int(config["units"]),), alpha=float(config["alpha"]),
                          learning_rate_init=float(config["lr"]), batch_size=int(config["batch_size"]),
                          solver="adam", random_state=0)
    classes = np.unique(data.y_train)
    checkpoint = trial.checkpoint_dir()
    done = restore_checkpoint(model, checkpoint, data, classes) if checkpoint else 0
    accuracy = float(model.score(data.x_val, data.y_val)) if done else 0.0
    for epoch in range(done + 1, epochs + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(data.x_train, data.y_train, classes=classes)
        accuracy = float(model.score(data.x_val, data.y_val))
        if checkpoint:
            save_checkpoint(model, checkpoint, epoch)
        print(f"epoch {epoch}: validation accuracy {accuracy:.4f}", file=sys.stderr)
        if trial.report_intermediate(accuracy, step=epoch):
            print("stopped early by tunelab", file=sys.stderr)
            break
    loss = log_loss(data.y_val, model.predict_proba(data.x_val), classes)
    trial.report(accuracy, loss=loss)

    folder = trial.model_dir()
    if folder:
        save_model(model, folder, config, {"accuracy": accuracy, "loss": loss})
        print(f"model saved in {folder}", file=sys.stderr)


if __name__ == "__main__":
    main()
