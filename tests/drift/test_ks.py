"""The KS engine against scipy: same statistic, same p-value, over many shapes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from bot.drift.stats.cells import CellGrid
from bot.drift.stats.compute import Compute
from bot.drift.stats.kolmogorov import kstwo_sf
from bot.drift.stats.ks import SortedReference, critical_d, ks_method, ks_result

REL = 1e-9


def _check(reference: np.ndarray, window: np.ndarray) -> None:
    engine = SortedReference(reference)
    with Compute(2) as compute:
        raw = engine.statistics(window, compute)
    d, p = ks_result(raw, reference.shape[0], window.shape[0])
    for i in range(reference.shape[1]):
        with warnings.catch_warnings():
            # scipy warns when its exact routine gives up and falls back; so do we, silently
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = stats.ks_2samp(reference[:, i], window[:, i])
        assert d[i] == expected.statistic  # bit for bit
        assert p[i] == pytest.approx(expected.pvalue, rel=REL, abs=1e-300)


def _heavy(rng: np.random.Generator, n1: int, n2: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_cauchy((n1, k)), rng.standard_cauchy((n2, k)) * 2.0


def _outliers(rng: np.random.Generator, n1: int, n2: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    reference, window = rng.normal(size=(n1, k)), rng.normal(size=(n2, k))
    reference[:: max(1, n1 // 3)] = 1e12
    window[:: max(1, n2 // 2)] = -1e300
    return reference, window


def _infinite(rng: np.random.Generator, n1: int, n2: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    reference, window = rng.normal(size=(n1, k)), rng.normal(size=(n2, k))
    window[0] = np.inf
    window[-1] = -np.inf
    if n1 > 3:
        reference[1] = np.inf  # the grid's span is then not finite: one cell
    return reference, window


def _offset(rng: np.random.Generator, n1: int, n2: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    # Large values with a tiny spread: cells narrower than the values' spacing.
    return 1e9 + rng.integers(0, 50, (n1, k)) * 1e-7, 1e9 + rng.integers(0, 60, (n2, k)) * 1e-7


def _outside(rng: np.random.Generator, n1: int, n2: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(n1, k)), rng.normal(50.0, 1.0, (n2, k))


ADVERSE = {
    "heavy": _heavy, "outliers": _outliers, "infinite": _infinite, "offset": _offset,
    "outside": _outside,
}  # fmt: skip
KINDS = ["normal", "ties", "discrete", "shifted", "constant", *ADVERSE]


@st.composite
def samples(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n1 = draw(st.integers(1, 400))
    n2 = draw(st.integers(1, 400))
    k = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    kind = draw(st.sampled_from(KINDS))
    rng = np.random.default_rng(seed)
    if kind in ADVERSE:
        return ADVERSE[kind](rng, n1, n2, k)
    if kind == "normal":
        return rng.normal(size=(n1, k)), rng.normal(size=(n2, k))
    if kind == "ties":
        return np.round(rng.normal(size=(n1, k)), 1), np.round(rng.normal(0.2, 1, (n2, k)), 1)
    if kind == "discrete":
        hi = draw(st.integers(1, 6))
        return (
            rng.integers(0, hi, (n1, k)).astype(float),
            rng.integers(0, hi + 1, (n2, k)).astype(float),
        )
    if kind == "constant":
        return np.zeros((n1, k)), rng.integers(0, 2, (n2, k)).astype(float)
    return rng.normal(size=(n1, k)), rng.normal(1.0, 2.0, (n2, k))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(samples())
def test_exact_mode_matches_scipy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    _check(*pair)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(10_001, 30_000),
    st.integers(50, 12_000),
    st.floats(0.0, 0.3),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_asymptotic_mode_matches_scipy(
    n1: int, n2: int, shift: float, rounded: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    reference = rng.normal(size=(n1, 2))
    window = rng.normal(shift, 1.0, (n2, 2))
    if rounded:  # many ties between and within the samples
        reference, window = np.round(reference, 2), np.round(window, 2)
    assert ks_method(n1, n2) == "asymp"
    _check(reference, window)


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(KINDS), st.integers(0, 2**32 - 1))
def test_many_cells_match_scipy_for_every_kind(kind: str, seed: int) -> None:
    """References of 20,000+ rows get the full 4,096 cells: the path the service takes."""
    rng = np.random.default_rng(seed)
    n1, n2 = int(rng.integers(20_000, 40_000)), int(rng.integers(500, 12_000))
    if kind in ADVERSE:
        reference, window = ADVERSE[kind](rng, n1, n2, 2)
    elif kind == "ties":
        reference, window = (
            np.round(rng.normal(size=(n1, 2)), 2),
            np.round(rng.normal(size=(n2, 2)), 2),
        )
    elif kind == "discrete":
        reference = rng.integers(0, 5, (n1, 2)).astype(float)
        window = rng.integers(0, 6, (n2, 2)).astype(float)
    else:
        reference, window = rng.normal(size=(n1, 2)), rng.normal(0.1, 1.2, (n2, 2))
    _check(reference, window)


def test_windows_of_different_lengths_and_threads_agree_with_scipy() -> None:
    rng = np.random.default_rng(4)
    reference = rng.normal(size=(30_000, 4))
    engine = SortedReference(reference)
    windows = [rng.normal(0.05 * i, 1.0, 2_000 + 500 * i) for i in range(4)]
    for workers in (1, 2, 3):
        with Compute(workers) as compute:
            statistics, _ = engine.fit(windows, compute)
        for i, window in enumerate(windows):
            assert statistics[i] == stats.ks_2samp(reference[:, i], window).statistic
    same = [rng.normal(size=5_000) for _ in range(4)]
    with Compute(1) as serial, Compute(2) as threads:
        one, _ = engine.fit(same, serial)
        two, _ = engine.fit(same, threads)
    assert one.tolist() == two.tolist()
    empty, counts = engine.fit([np.empty(0)] * 4)
    assert empty.tolist() == [0.0] * 4 and counts.sum() == 0


def test_psi_bins_count_both_samples_exactly() -> None:
    rng = np.random.default_rng(8)
    reference = rng.lognormal(size=(50_000, 1))
    engine = SortedReference(reference)
    window = rng.lognormal(0.2, 1.0, 9_000)
    _, counts = engine.fit([window])
    grid = CellGrid(engine.sorted[0], engine.cells)
    cells = engine.decile_cells[0]
    assert (counts[0] == [(grid.cell_of(window) <= c).sum() for c in cells]).all()
    assert (
        engine.decile_counts[0] == [(grid.cell_of(reference[:, 0]) <= c).sum() for c in cells]
    ).all()
    # each bin ends at most one cell past a decile: about a tenth of the reference each
    shares = np.diff(np.concatenate(([0], engine.decile_counts[0], [50_000]))) / 50_000
    assert np.allclose(shares, 0.1, atol=0.01)


def test_scipy_exact_fallback_is_followed() -> None:
    # scipy's exact routine gives up here and falls back to the asymptotic p-value
    _check(np.zeros((5, 1)), np.array([[1.0], [0.0], [0.0], [0.0], [0.0]]))


def test_ties_only_between_samples_and_extremes() -> None:
    reference = np.array([[1.0], [2.0], [2.0], [3.0], [5.0]])
    for window in ([[2.0], [2.0]], [[0.0], [9.0]], [[5.0], [5.0], [1.0]], [[3.0]]):
        _check(reference, np.array(window))


def test_fast_kolmogorov_tail_and_body_within_1e9() -> None:
    """The documented faster forms of kstwo.sf, measured against scipy itself."""
    worst = 0.0
    for n in (141, 999, 5_000, 8_333, 40_000):
        d = np.geomspace(0.6 / n, 0.49, 400)
        mine = kstwo_sf(d, n)
        theirs = np.array([stats.kstwo.sf(x, n) for x in d])
        positive = theirs > 0
        assert np.array_equal(mine == 0, theirs == 0)
        worst = max(worst, float(np.max(np.abs(mine - theirs)[positive] / theirs[positive])))
    assert worst < REL


def test_critical_d_separates_p_values() -> None:
    n1, n2, level = 50_000, 10_000, 0.05 / 50
    critical = critical_d(n1, n2, level)
    below, above = critical * (1 - 1e-6), critical * (1 + 1e-6)
    _, p = ks_result(np.array([below, above]), n1, n2)
    assert p[0] > level > p[1]


def test_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        SortedReference(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="rows x 3"):
        SortedReference(np.zeros((5, 3))).statistics(np.zeros((4, 2)))
