"""NNI search spaces: every _type with NNI's exact meaning, nested and cascading choices."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHARED
from tunelab.compat.nni import nest_config
from tunelab.exceptions import UserError
from tunelab.formats.nni_space import translate_search_space
from tunelab.space import Float, Space
from tunelab.spec import build_space

SEEDS = SHARED / "seed-examples" / "nni"
SPACES = sorted(SEEDS.rglob("search_space.json"))


def _t(space: dict) -> list[dict]:
    return translate_search_space(space).parameter_config


@pytest.mark.parametrize("path", SPACES, ids=lambda p: p.parent.name)
def test_every_seed_space_builds_a_native_space(path: Path) -> None:
    doc = json.loads(path.read_text())
    result = translate_search_space(doc)
    space = build_space(result.parameter_config)
    assert [p.name for p in space if not p.when] == list(doc)
    rng = np.random.default_rng(0)
    for _ in range(20):
        config = space.sample(rng)
        nested = nest_config(config, result.layout)
        assert set(nested) == set(doc)


def test_flat_seed_spaces_key_by_key() -> None:
    doc = json.loads((SEEDS / "sklearn-classification" / "search_space.json").read_text())
    assert _t(doc) == [
        {"name": "C", "type": "float", "range": [0.1, 1]},
        {"name": "keral", "type": "choice", "range": ["linear", "rbf", "poly", "sigmoid"]},
        {"name": "degree", "type": "choice", "range": [1, 2, 3, 4]},
        {"name": "gamma", "type": "float", "range": [0.01, 0.1]},
        {"name": "coef0 ", "type": "float", "range": [0.01, 0.1]},  # NNI keeps the trailing space
    ]
    assert translate_search_space(doc).layout == {}


def test_nested_seed_space_gives_conditional_flat_names() -> None:
    doc = json.loads((SEEDS / "mnist-nested-search-space" / "search_space.json").read_text())
    result = translate_search_space(doc)
    assert result.parameter_config[:3] == [
        {"name": "layer0", "type": "choice", "range": ["Empty", "Conv", "Max_pool", "Avg_pool"]},
        {"name": "layer0/Conv/kernel_size", "type": "choice", "range": [1, 2, 3, 5], "when": {"layer0": ["Conv"]}},
        {"name": "layer0/Max_pool/pooling_size", "type": "choice", "range": [2, 3, 5],
         "when": {"layer0": ["Max_pool"]}},
    ]
    flat = {"layer0": "Conv", "layer0/Conv/kernel_size": 3, "layer1": "Empty", "layer2": "Avg_pool",
            "layer2/Avg_pool/pooling_size": 5}
    assert nest_config(flat, result.layout) == {"layer0": {"_name": "Conv", "kernel_size": 3},
                                                "layer1": {"_name": "Empty"},
                                                "layer2": {"_name": "Avg_pool", "pooling_size": 5}}


def test_cascading_seed_space_folds_back_to_the_list_form() -> None:
    doc = json.loads((SEEDS / "mnist-cascading-search-space" / "search_space.json").read_text())
    result = translate_search_space(doc)
    assert result.parameter_config[1] == {"name": "layer0/Conv", "type": "choice", "range": [2, 3, 5],
                                          "when": {"layer0": ["Conv"]}}
    nested = nest_config({"layer0": "Max_pool", "layer0/Max_pool": 5, "layer1": "Empty"}, result.layout)
    assert nested == {"layer0": ["Max_pool", {"_index": 2, "_value": 5}], "layer1": "Empty"}


def test_deeper_nesting_keeps_paths() -> None:
    doc = {"opt": {"_type": "choice", "_value": [
        {"_name": "sgd", "lr": {"_type": "uniform", "_value": [0, 1]},
         "schedule": {"_type": "choice", "_value": [{"_name": "step", "gamma": {"_type": "uniform",
                                                                                 "_value": [0.1, 0.9]}},
                                                     {"_name": "none"}]}},
        {"_name": "adam"}]}}
    result = translate_search_space(doc)
    names = [e["name"] for e in result.parameter_config]
    assert names == ["opt", "opt/sgd/lr", "opt/sgd/schedule", "opt/sgd/schedule/step/gamma"]
    flat = {"opt": "sgd", "opt/sgd/lr": 0.5, "opt/sgd/schedule": "step", "opt/sgd/schedule/step/gamma": 0.2}
    assert nest_config(flat, result.layout) == {"opt": {"_name": "sgd", "lr": 0.5,
                                                        "schedule": {"_name": "step", "gamma": 0.2}}}
    assert build_space(result.parameter_config).validate(flat) == flat


def test_randint_upper_is_exclusive() -> None:
    entry = _t({"n": {"_type": "randint", "_value": [2, 5]}})[0]
    assert entry == {"name": "n", "type": "int", "range": [2, 4]}
    values = {build_space([entry]).sample(np.random.default_rng(i))["n"] for i in range(200)}
    assert values == {2, 3, 4}
    assert _t({"n": {"_type": "randint", "_value": [3, 4]}})[0] == {"name": "n", "type": "constant", "value": 3}


def test_quniform_aligned_uses_the_native_step() -> None:
    entry = _t({"b": {"_type": "quniform", "_value": [16, 128, 16]}})[0]
    assert entry == {"name": "b", "type": "float", "range": [16, 128], "step": 16}
    assert build_space([entry])["b"].grid() == [16.0, 32.0, 48.0, 64.0, 80.0, 96.0, 112.0, 128.0]


def _float(entry: dict) -> Float:
    """The Float an entry describes (the keys ``prior``, ``mu``, ``sigma``, ``round_to``)."""
    low, high = entry.get("range", (None, None))
    return Float(entry["name"], low, high, log=entry.get("log", False), q=entry.get("round_to"),
                 prior=entry.get("prior", "uniform"), mu=entry.get("mu"), sigma=entry.get("sigma"))


def test_quniform_unaligned_rounds_then_clips_like_nni() -> None:
    entry = _t({"x": {"_type": "quniform", "_value": [1, 10, 4]}})[0]
    assert entry == {"name": "x", "type": "float", "range": [1, 10], "round_to": 4}
    param = _float(entry)
    rng = np.random.default_rng(0)
    samples = {param.sample(rng) for _ in range(500)}
    expected = {min(max(round(u / 4) * 4, 1), 10) for u in np.random.default_rng(1).uniform(1, 10, 5000)}
    assert samples == {float(v) for v in expected} == {1.0, 4.0, 8.0}


def test_loguniform_and_qloguniform() -> None:
    assert _t({"lr": {"_type": "loguniform", "_value": [1e-4, 1e-1]}})[0] == \
        {"name": "lr", "type": "float", "range": [1e-4, 1e-1], "log": True}
    entry = _t({"u": {"_type": "qloguniform", "_value": [1, 1000, 10]}})[0]
    assert entry == {"name": "u", "type": "float", "range": [1, 1000], "log": True, "round_to": 10}
    param, rng = _float(entry), np.random.default_rng(0)
    samples = [param.sample(rng) for _ in range(300)]
    assert all(1 <= s <= 1000 and (s == 1 or s % 10 == 0) for s in samples)
    assert np.median(samples) < 100  # log prior: half the mass below sqrt(1000) ~ 32


@pytest.mark.parametrize("kind,values,log,q", [("normal", [0, 2], False, None), ("qnormal", [0, 2, 0.5], False, 0.5),
                                               ("lognormal", [-3, 1], True, None),
                                               ("qlognormal", [2, 1, 1], True, 1)])
def test_normal_family(kind: str, values: list, log: bool, q: float | None) -> None:
    entry = _t({"v": {"_type": kind, "_value": values}})[0]
    expected = {"name": "v", "type": "float", "prior": "normal", "mu": values[0], "sigma": values[1]}
    if log:
        expected["log"] = True
    if q:
        expected["round_to"] = q
    assert entry == expected
    param, rng = _float(entry), np.random.default_rng(0)
    samples = np.array([param.sample(rng) for _ in range(2000)])
    raw = np.log(np.maximum(samples, 1e-12)) if log and not q else samples
    if not log:
        assert abs(raw.mean() - values[0]) < 0.15 and abs(raw.std() - values[1]) < 0.15
    if log and not q:
        assert abs(np.median(raw) - values[0]) < 0.1
    if q:
        assert np.allclose(np.round(samples / q) * q, samples)
    assert Space.from_list(Space([param]).to_list()) == Space([param])


def test_unknown_type_and_bad_values_name_the_field() -> None:
    with pytest.raises(UserError, match=r"^searchSpace.x._type: unknown type 'gauss'"):
        _t({"x": {"_type": "gauss", "_value": [0, 1]}})
    with pytest.raises(UserError, match=r"^searchSpace.x._value: expected \[low, high\]"):
        _t({"x": {"_type": "uniform", "_value": [0]}})
    with pytest.raises(UserError, match=r"^searchSpace.x._value: randint needs integers"):
        _t({"x": {"_type": "randint", "_value": [5, 5]}})
    with pytest.raises(UserError, match=r"^searchSpace.x: expected"):
        _t({"x": [1, 2]})


def test_float_normal_prior_is_validated_and_round_trips() -> None:
    param = Float("lr", mu=-7.0, sigma=1.0, log=True, prior="normal")
    assert param.from_unit(0.5) == pytest.approx(math.exp(-7.0))
    assert param.to_unit(param.from_unit(0.3)) == pytest.approx(0.3)
    assert param.validate(0.5) == 0.5
    bounded = Float("x", 0, 1, prior="normal", mu=0.5, sigma=5)
    assert 0 <= bounded.from_unit(0.0) <= bounded.from_unit(1.0) <= 1
    with pytest.raises(ValueError, match="sigma"):
        Float("x", prior="normal", mu=0, sigma=0)
    with pytest.raises(ValueError, match="`q` and `step`"):
        Float("x", 0, 1, step=0.1, q=0.1)
