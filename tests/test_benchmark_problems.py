"""The benchmark's shifted and rotated problems, and a benchmark run on them.

The problems are the shared set's functions (``problems.py`` of the shared benchmark folder,
found as ``benchmarks/proposers.py`` finds it) with the optimum moved to a point drawn from
the seed, so a search cannot win by probing the centre of the box.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tunelab

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))
import proposers  # noqa: E402  (puts the shared benchmark folder on sys.path)
import shifted_problems as shifted  # noqa: E402


def _config(vector: np.ndarray) -> dict[str, float]:
    return {f"x{i}": float(v) for i, v in enumerate(vector)}


@pytest.mark.parametrize("name", sorted(shifted.SHIFTED))
def test_the_optimum_of_a_variant_is_where_it_was_drawn_with_the_original_value(name: str) -> None:
    base_name, kind = name.rsplit("_", 1)
    base = shifted.BASES[base_name]
    rng = np.random.default_rng(0)
    for seed in range(3):
        problem = proposers.get_problem(name, seed)
        centre = shifted.transform(base_name, seed, rotate=kind == "rotated").centre
        width = base.high - base.low
        assert np.all(centre >= base.low + shifted.SHIFT_MARGIN * width)
        assert np.all(centre <= base.high - shifted.SHIFT_MARGIN * width)
        best = problem(_config(centre))
        assert best == pytest.approx(problem.optimum, abs=1e-9)
        assert best == pytest.approx(base.fn(np.full(base.dim, base.argmin)), abs=1e-9)
        for _ in range(20):  # every nearby point and every point of the box is worse
            near = np.clip(centre + 1e-3 * width * rng.standard_normal(base.dim), base.low, base.high)
            assert problem(_config(near)) > best
            assert problem(_config(rng.uniform(base.low, base.high, base.dim))) > best


def test_a_variant_is_drawn_from_the_seed_and_the_centre_of_the_box_is_no_longer_optimal() -> None:
    first, again, other = (proposers.get_problem("ackley10_shifted", seed) for seed in (4, 4, 5))
    point = _config(np.linspace(-20, 20, 10))
    assert first(point) == again(point) != other(point)
    centre = _config(np.zeros(10))
    original = proposers.get_problem("ackley10")
    assert original(centre) == pytest.approx(0.0, abs=1e-12)
    assert all(proposers.get_problem("ackley10_shifted", seed)(centre) > 5 for seed in range(10))


def test_a_rotated_variant_turns_the_space_around_its_optimum() -> None:
    base = shifted.BASES["styblinski_tang8"]
    move = shifted.transform("styblinski_tang8", 2, rotate=True)
    assert np.allclose(move.rotation @ move.rotation.T, np.eye(8))
    assert not np.allclose(move.rotation, np.eye(8))
    problem = proposers.get_problem("styblinski_tang8_rotated", 2)
    step = np.zeros(8)
    step[0] = 0.5  # along the first axis of the base function, seen through the rotation
    x = move.centre + move.rotation.T @ step
    assert problem(_config(x)) == pytest.approx(base.fn(np.full(8, base.argmin) + step))


@pytest.mark.parametrize("name", ["auto", "gp", "tpe", "smac", "cmaes", "anneal", "evolution", "qmc", "random"])
def test_no_tunelab_proposer_probes_the_centre_of_the_box(name: str) -> None:
    """A first proposal at the centre would win ackley, griewank and ellipsoid at once."""
    space = [{"name": f"x{i}", "type": "float", "range": [-1.0, 1.0]} for i in range(10)]
    for seed in range(3):
        options = {"n_samples": 50} if name == "auto" else {}
        opt = tunelab.Optimizer(space, proposer=name, random_seed=seed, **options)
        for _ in range(12):
            config = opt.ask()
            x = np.array([config[f"x{i}"] for i in range(10)])
            assert np.abs(x).max() > 0.2, f"{name} proposed {x} near the centre"
            opt.tell(config, float(np.sum(x * x)))


def test_the_benchmark_reports_the_variants_beside_the_originals(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {**os.environ, "TUNELAB_SHARED": str(proposers.shared_benchmarks())}
    done = subprocess.run(
        [sys.executable, str(BENCH / "proposers.py"), "--problems", "ackley10,ackley10_shifted,griewank10_rotated",
         "--optimizers", "auto,random", "--budgets", "4,6", "--seeds", "2", "--no-cost", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    assert "## ackley10_shifted" in done.stdout
    result = json.loads(out.read_text())
    assert list(result["problems"]) == ["ackley10", "ackley10_shifted", "griewank10_rotated"]
    for entry in result["problems"].values():
        assert entry["reference"] == 0.0
        assert set(entry["budgets"]["6"]) == {"auto", "random"}
    assert set(result["mean_rank"]["all"]) == {"auto", "random"}


def test_ngopt_starts_at_the_centre_and_ngopt_rs_at_a_point_drawn_from_the_seed() -> None:
    """``ngopt_rs`` measures NGOpt without its centre start (its first proposal)."""
    ng = pytest.importorskip("nevergrad")
    problem = proposers.get_problem("ackley10_shifted", 0)

    def first(seed: int, random_start: bool) -> np.ndarray:
        space = proposers._nevergrad_space(problem, seed, random_start=random_start)
        value = ng.optimizers.NGOpt(parametrization=space, budget=50, num_workers=1).ask().value
        return np.array([value[f"x{i}"] for i in range(10)])

    assert np.allclose(first(0, random_start=False), 0.0)
    start = first(0, random_start=True)
    assert np.all(np.abs(start) <= 32.768) and np.abs(start).max() > 0.2 * 32.768
    assert np.array_equal(start, first(0, random_start=True))
    assert not np.allclose(start, first(1, random_start=True))
