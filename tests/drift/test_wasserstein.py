"""Wasserstein distances from the KS cells against scipy's, over the same shapes as KS."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from bot.drift.stats import wasserstein
from bot.drift.stats.compute import Compute
from bot.drift.stats.ks import SortedReference
from tests.drift.test_ks import ADVERSE, KINDS

REL = 1e-9


def _expected(reference: np.ndarray, window: np.ndarray) -> float:
    with np.errstate(invalid="ignore"):
        return float(stats.wasserstein_distance(reference, window))


def _check(reference: np.ndarray, windows: list[np.ndarray], features: list[int]) -> None:
    engine = SortedReference(reference)
    got = wasserstein.distances(engine, features, windows)
    for value, feature, window in zip(got, features, windows, strict=True):
        expected = _expected(reference[:, feature], window)
        if np.isnan(expected):
            assert np.isnan(value)
        else:
            assert value == pytest.approx(expected, rel=REL, abs=1e-300)


def _pair(
    kind: str, rng: np.random.Generator, n1: int, n2: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    if kind in ADVERSE:
        return ADVERSE[kind](rng, n1, n2, k)
    if kind == "ties":
        return np.round(rng.normal(size=(n1, k)), 1), np.round(rng.normal(0.2, 1, (n2, k)), 1)
    if kind == "discrete":
        return rng.integers(0, 4, (n1, k)).astype(float), rng.integers(0, 5, (n2, k)).astype(float)
    if kind == "constant":
        return np.zeros((n1, k)), rng.integers(0, 2, (n2, k)).astype(float)
    return rng.normal(size=(n1, k)), rng.normal(0.3 if kind == "shifted" else 0.0, 1.0, (n2, k))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(KINDS),
    st.integers(1, 30_000),
    st.integers(1, 3_000),
    st.integers(0, 2**32 - 1),
)
def test_matches_scipy(kind: str, n1: int, n2: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference, window = _pair(kind, rng, n1, n2, 3)
    _check(reference, [window[:, i] for i in range(3)], [0, 1, 2])


def test_subsets_and_lengths_and_threads() -> None:
    rng = np.random.default_rng(12)
    reference = rng.normal(size=(40_000, 5))
    # Not consecutive, windows of differing lengths (one block per feature).
    _check(reference, [rng.normal(0.5, 1.0, 3_000), rng.normal(size=7_000)], [3, 1])
    engine = SortedReference(reference)
    windows = [rng.normal(0.1 * i, 1.0, 8_000) for i in range(5)]
    with Compute(1) as serial, Compute(2) as threads:
        one = wasserstein.distances(engine, list(range(5)), windows, serial)
        two = wasserstein.distances(engine, list(range(5)), windows, threads)
    assert two == pytest.approx(one, rel=1e-12)  # sums grouped differently per block


def test_no_drift_many_crossings_stays_exact() -> None:
    """Same distribution: F1 - F2 changes sign in many cells, each integrated point by point."""
    rng = np.random.default_rng(13)
    reference = rng.normal(size=(50_000, 2))
    window = rng.normal(size=(10_000, 2))
    _check(reference, [window[:, 0], window[:, 1]], [0, 1])
