"""Problems of tunelab's own, beside the shared set, for checking ``auto``'s rules.

The shared set has one mixed synthetic problem (mixed6) and nothing above 10 dimensions,
so a rule tuned there could be tuned to those instances. ``auto``'s plan for mixed spaces
was checked on three mixed problems of other structures, and its dimension limit for the
GP on the shared set's functions in 20 and 40 dimensions, before they were adopted. Run
them with ``proposers.py --problems model_choice,pipeline_choice,svc_breast_cancer`` and
``--problems ackley20,rosenbrock20,styblinski_tang20,styblinski_tang40``.

* ``model_choice``: a model (5 choices) and a normalisation switch move the optimum of a
  learning rate, a dropout and a depth. The best model has the narrowest learning-rate
  basin, so random configs of it look bad while an easier model looks fairly good.
* ``pipeline_choice``: three preprocessing and model choices (4, 3 and 6 levels) with
  additive effects and one interaction, plus a regularisation (log), a fraction and an
  integer whose optima depend on the choices.
* ``svc_breast_cancer``: 3-fold CV error of a scaled SVC on scikit-learn's breast_cancer
  (C, gamma, kernel, degree, class weight); optimum unknown.
* ``ackley20``, ``rosenbrock20``, ``styblinski_tang20``, ``styblinski_tang40``: the shared
  set's functions on the same boxes, in more dimensions.
"""

from __future__ import annotations

import math
from typing import Any

import problems as shared

_MODELS = ("mlp", "cnn", "rnn", "linear", "tree")
_OFFSET = (0.30, 0.10, 0.22, 0.15, 0.40)
_LR_CENTRE = (-3.0, -1.5, -2.2, -3.8, -1.0)
_LR_WEIGHT = (0.5, 1.5, 0.8, 0.6, 0.3)
_DROPOUT = (0.1, 0.5, 0.3, 0.0, 0.6)
_DEPTH = (2, 8, 5, 3, 6)


def _model_floor(m: int, norm: float) -> float:
    """The value of model ``m`` with its numbers at their optimum."""
    return _OFFSET[m] - 0.05 * norm * (m % 2) + 0.03 * norm


def model_choice(x: dict[str, Any]) -> float:
    """Per-model bowls in (log lr, dropout, depth) with a small ripple in the learning rate."""
    m = _MODELS.index(x["model"])
    norm = 1.0 if x["norm"] == "yes" else 0.0
    u = math.log10(x["lr"]) - _LR_CENTRE[m] - 0.4 * norm
    return (_model_floor(m, norm) + _LR_WEIGHT[m] * u * u + (x["dropout"] - _DROPOUT[m]) ** 2
            + 0.02 * (x["depth"] - _DEPTH[m] - norm) ** 2 + 0.02 * (1 - math.cos(3 * math.pi * u)))


_SCALERS, _SCALER_EFFECT = ("standard", "robust", "minmax", "quantile"), (0.0, 0.2, 0.1, 0.35)
_SELECTORS, _SELECTOR_EFFECT = ("none", "variance", "kbest"), (0.15, 0.0, 0.3)
_MODELS6, _MODEL_EFFECT = ("m0", "m1", "m2", "m3", "m4", "m5"), (0.1, 0.25, 0.0, 0.05, 0.4, 0.2)


def pipeline_choice(x: dict[str, Any]) -> float:
    """Additive choice effects, one interaction (quantile with m3), and choice-dependent numbers."""
    a, b, c = _SCALERS.index(x["scaler"]), _SELECTORS.index(x["selector"]), _MODELS6.index(x["model"])
    interaction = 0.25 if (a, c) == (3, 3) else 0.0
    v1 = math.log10(x["reg"]) + 2 + 0.1 * c
    v2 = x["fraction"] - 0.2 - 0.1 * b
    return (_SCALER_EFFECT[a] + _SELECTOR_EFFECT[b] + _MODEL_EFFECT[c] - interaction
            + 0.3 * v1 * v1 + 2 * v2 * v2 + 0.01 * (x["k"] - 7) ** 2)


_DATA: dict[str, Any] = {}


def svc_breast_cancer(x: dict[str, Any]) -> float:
    """3-fold stratified CV misclassification error of StandardScaler + SVC."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    if not _DATA:
        features, labels = load_breast_cancer(return_X_y=True)
        _DATA["bc"] = (features, labels, StratifiedKFold(3, shuffle=True, random_state=0))
    features, labels, folds = _DATA["bc"]
    weight = None if x["class_weight"] == "none" else "balanced"
    model = make_pipeline(StandardScaler(), SVC(C=x["C"], gamma=x["gamma"], kernel=x["kernel"],
                                                degree=x["degree"], class_weight=weight, max_iter=2000))
    return 1.0 - float(cross_val_score(model, features, labels, cv=folds).mean())


def _param(name: str, kind: str, *args: Any, **kwargs: Any) -> shared.Param:
    if kind == "categorical":
        return shared.Param(name, kind, choices=tuple(args))
    return shared.Param(name, kind, *args, **kwargs)


_WIDER = {"ackley": (shared.ackley_fn, -32.768, 32.768, lambda dim: 0.0),
          "rosenbrock": (shared.rosenbrock_fn, -5.0, 10.0, lambda dim: 0.0),
          "styblinski_tang": (shared.styblinski_tang_fn, -5.0, 5.0,
                              lambda dim: dim * shared._styblinski_tang_1d_min())}


def _wider(function: str, dim: int) -> shared.Problem:
    """A shared function in ``dim`` dimensions."""
    fn, low, high, optimum = _WIDER[function]
    return shared.continuous_problem(f"{function}{dim}", dim, low, high, fn, optimum(dim),
                                     f"{function} {dim}d on [{low},{high}]^{dim}")


EXTRA = {
    "model_choice": lambda: shared.Problem(
        "model_choice",
        [_param("lr", "float", 1e-5, 1.0, log=True), _param("dropout", "float", 0.0, 0.8),
         _param("depth", "int", 1, 10), _param("model", "categorical", *_MODELS),
         _param("norm", "categorical", "no", "yes")],
        model_choice, min(_model_floor(m, n) for m in range(len(_MODELS)) for n in (0.0, 1.0)),
        "5 models x norm switch; the best model has the narrowest basin", tags=("mixed",)),
    "pipeline_choice": lambda: shared.Problem(
        "pipeline_choice",
        [_param("reg", "float", 1e-5, 10.0, log=True), _param("fraction", "float", 0.05, 1.0),
         _param("k", "int", 1, 20), _param("scaler", "categorical", *_SCALERS),
         _param("selector", "categorical", *_SELECTORS), _param("model", "categorical", *_MODELS6)],
        pipeline_choice, 0.0, "three choices (4, 3, 6 levels) and three numbers", tags=("mixed",)),
    "svc_breast_cancer": lambda: shared.Problem(
        "svc_breast_cancer",
        [_param("C", "float", 1e-3, 1e3, log=True), _param("gamma", "float", 1e-5, 10.0, log=True),
         _param("kernel", "categorical", "rbf", "poly", "sigmoid"), _param("degree", "int", 2, 5),
         _param("class_weight", "categorical", "none", "balanced")],
        svc_breast_cancer, None, "3-fold CV error of a scaled SVC on breast_cancer; optimum unknown",
        tags=("ml", "mixed")),
    **{f"{function}{dim}": (lambda function=function, dim=dim: _wider(function, dim))
       for function, dim in (("ackley", 20), ("rosenbrock", 20), ("styblinski_tang", 20), ("styblinski_tang", 40))},
}
"""Problem factories by name, as ``problems.PUBLIC``."""
