"""Effect sizes and the categorical test: how far a feature moved, not only whether.

Called by `drift.stats.engine`. At thousands of rows the KS test flags shifts too small to
matter, so a feature counts as drifted only when its effect also reaches a floor:
the Wasserstein distance normed by the reference's standard deviation for numeric
features (computed by `drift.stats.wasserstein`), the Jensen-Shannon distance (base 2) for
categorical ones. PSI is reported beside them for people used to it, over ten bins that
end at the cell tops nearest the reference's deciles (`drift.stats.ks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_PSI_FLOOR = 1e-4  # proportion used for an empty bin so the log stays finite


@lru_cache(maxsize=16)
def _quantile_grid(n1: int, n2: int) -> tuple[IntArray, IntArray, FloatArray]:
    """Where both empirical quantile functions are constant: indices and widths.

    Depends on the sizes only, so it is built once per (n1, n2) and serves every feature.
    """
    u1 = np.arange(1, n1 + 1, dtype=np.float64) / n1
    u2 = np.arange(1, n2 + 1, dtype=np.float64) / n2
    edges = np.union1d(u1, u2)
    widths = np.diff(edges, prepend=0.0)
    i1 = np.minimum(np.searchsorted(u1, edges, side="left"), n1 - 1)
    i2 = np.minimum(np.searchsorted(u2, edges, side="left"), n2 - 1)
    return i1.astype(np.int64), i2.astype(np.int64), widths


def wasserstein_sorted(reference: FloatArray, window: FloatArray) -> float:
    """Wasserstein-1 distance of two sorted samples (the area between their quantiles)."""
    i1, i2, widths = _quantile_grid(reference.shape[0], window.shape[0])
    return float(np.sum(widths * np.abs(reference[i1] - window[i2])))


def normed(distance: float, scale: float) -> float:
    """A Wasserstein distance in units of the reference's standard deviation."""
    if scale > 0:
        return distance / scale
    return 0.0 if distance == 0 else float("inf")


def psi_rows(
    reference_at_most: npt.NDArray[np.intp],
    reference_rows: int,
    window_at_most: npt.NDArray[np.intp],
    window_rows: npt.NDArray[np.intp],
) -> FloatArray:
    """Population stability index per feature (row) from each sample's count of values
    up to the end of each bin but the last (features x bins - 1)."""
    ref_share = _bin_shares(reference_at_most, np.full(reference_at_most.shape[0], reference_rows))
    win_share = _bin_shares(window_at_most, window_rows)
    psi: FloatArray = np.sum((win_share - ref_share) * np.log(win_share / ref_share), axis=1)
    return psi


def _bin_shares(at_most: npt.NDArray[np.intp], rows: npt.NDArray[np.intp]) -> FloatArray:
    total = np.maximum(rows, 1)[:, None]
    cuts = np.concatenate((np.zeros_like(total), at_most, total), axis=1)
    shares: FloatArray = np.maximum(np.diff(cuts, axis=1) / total, _PSI_FLOOR)
    return shares


@dataclass(frozen=True)
class CategoricalResult:
    """Chi-square homogeneity test of category counts, with its effect sizes."""

    statistic: float
    p_value: float
    js_distance: float
    psi: float


def compare_categories(reference: npt.ArrayLike, window: npt.ArrayLike) -> CategoricalResult:
    """Chi-square test (no continuity correction) that both samples share proportions."""
    from scipy import stats  # lazy: scipy costs ~1 s to import

    ref_values, ref_counts = np.unique(np.asarray(reference, dtype=str), return_counts=True)
    win_values, win_counts = np.unique(np.asarray(window, dtype=str), return_counts=True)
    categories = np.union1d(ref_values, win_values)
    table = np.zeros((2, categories.shape[0]))
    table[0, np.searchsorted(categories, ref_values)] = ref_counts
    table[1, np.searchsorted(categories, win_values)] = win_counts
    ref_share = table[0] / table[0].sum()
    win_share = table[1] / table[1].sum()
    js = float(_js_distance(ref_share, win_share))
    floor_ref = np.maximum(ref_share, _PSI_FLOOR)
    floor_win = np.maximum(win_share, _PSI_FLOOR)
    psi = float(np.sum((floor_win - floor_ref) * np.log(floor_win / floor_ref)))
    if categories.shape[0] < 2:
        return CategoricalResult(0.0, 1.0, js, psi)
    result = stats.chi2_contingency(table, correction=False)
    return CategoricalResult(float(result.statistic), float(result.pvalue), js, psi)


def _js_distance(p: FloatArray, q: FloatArray) -> float:
    middle = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log2(p / middle), 0.0)
        right = np.where(q > 0, q * np.log2(q / middle), 0.0)
    divergence = max(float(np.sum(left) + np.sum(right)) / 2.0, 0.0)
    return float(np.sqrt(divergence))
