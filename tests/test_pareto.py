"""The Pareto helpers against hand-worked examples and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tunelab import pareto


def test_front_and_ranks_by_hand() -> None:
    points = np.array([[1.0, 5.0], [2.0, 3.0], [3.0, 4.0], [4.0, 1.0], [2.0, 3.0], [5.0, 5.0]])
    assert pareto.front_mask(points).tolist() == [True, True, False, True, True, False]
    assert pareto.ranks(points).tolist() == [0, 0, 1, 0, 0, 2]
    assert pareto.ranks(points, enough=2).tolist() == [0, 0, 6, 0, 0, 6]
    assert pareto.dominates(points[1], points[2]) and not pareto.dominates(points[1], points[4])
    assert pareto.front_mask(np.zeros((0, 2))).tolist() == []


def test_crowding_distance_by_hand() -> None:
    points = np.array([[0.0, 4.0], [1.0, 2.0], [3.0, 1.0], [4.0, 0.0]])
    distance = pareto.crowding_distance(points)
    assert np.isinf(distance[0]) and np.isinf(distance[3])
    assert distance[1] == pytest.approx(3 / 4 + 3 / 4) and distance[2] == pytest.approx(3 / 4 + 2 / 4)


def test_hypervolume_by_hand_in_two_and_three_objectives() -> None:
    assert pareto.hypervolume(np.array([[1.0, 2.0], [2.0, 1.0]]), np.array([3.0, 3.0])) == 3.0
    assert pareto.hypervolume(np.array([[4.0, 0.0]]), np.array([3.0, 3.0])) == 0.0, "beyond the reference"
    cube = np.array([[0.0, 0.0, 0.0]])
    assert pareto.hypervolume(cube, np.array([1.0, 2.0, 3.0])) == 6.0
    two = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    assert pareto.hypervolume(two, np.ones(3) * 2) == pytest.approx(4 + 4 - 2)


def _grid_volume(points: np.ndarray, reference: np.ndarray, cells: int = 40) -> float:
    """Volume by counting cell centres dominated by some point (brute force)."""
    axes = [np.linspace(0, r, cells, endpoint=False) + r / cells / 2 for r in reference]
    centres = np.array(list(itertools.product(*axes)))
    covered = (points[None, :, :] <= centres[:, None, :]).all(axis=2).any(axis=1)
    return float(covered.mean() * np.prod(reference))


@pytest.mark.parametrize("m", [2, 3])
def test_hypervolume_matches_brute_force_on_random_sets(m: int) -> None:
    rng = np.random.default_rng(m)
    for _ in range(3):
        points = rng.random((12, m))
        reference = np.ones(m)
        assert pareto.hypervolume(points, reference) == pytest.approx(_grid_volume(points, reference), abs=0.03)


@pytest.mark.parametrize("m", [2, 3])
def test_contributions_are_what_the_set_loses(m: int) -> None:
    rng = np.random.default_rng(10 + m)
    points = rng.random((30, m))
    points = points[pareto.front_mask(points)]
    reference = np.full(m, 1.1)
    share = pareto.contributions(points, reference)
    whole = pareto.hypervolume(points, reference)
    for i in range(len(points)):
        assert share[i] == pytest.approx(whole - pareto.hypervolume(np.delete(points, i, axis=0), reference))
    kept = pareto.reduce_by_contribution(points, 3, reference)
    assert len(kept) == 3 and len(set(kept.tolist())) == 3


@pytest.mark.parametrize("m", [2, 3])
def test_reduction_keeps_more_volume_than_random_subsets(m: int) -> None:
    rng = np.random.default_rng(20 + m)
    points = rng.random((200, m))
    points = points[pareto.front_mask(points)]
    reference = np.full(m, 1.1)
    kept = pareto.reduce_by_contribution(points, 5, reference)
    assert len(kept) == 5 and (kept == pareto.reduce_by_contribution(points, 5, reference)).all()
    ours = pareto.hypervolume(points[kept], reference)
    others = [pareto.hypervolume(points[rng.choice(len(points), 5, replace=False)], reference) for _ in range(50)]
    assert ours >= np.quantile(others, 0.9) and ours > np.mean(others)
