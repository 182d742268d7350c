"""Two-sample Kolmogorov-Smirnov, many features at once, identical to `scipy.stats.ks_2samp`.

Called by `drift.engine` (the service and the `drift` command). The reference sample is
sorted once (`SortedReference`); each evaluation sorts only the window and places it in
the reference with `np.searchsorted`. The statistic is the same float scipy returns: scipy
takes the extremes of `F1 - F2` over every point of both samples, and the extremes are
always reached at a window value or at the point just before one, so those two pairs of
counts per window value are evaluated with scipy's own arithmetic (count / n, then the
difference). The p-value follows scipy's "auto" choice: exact when both samples have at
most 10,000 rows (scipy's own exact routine, reached through its public function), else
the asymptotic `kstwo.sf(d, round(n1*n2/(n1+n2)))`, computed by `drift.kolmogorov`.
"""

from __future__ import annotations

import math
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from bot.drift.kolmogorov import kstwo_sf

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Method = Literal["exact", "asymp"]

MAX_EXACT_N = 10_000  # scipy's MAX_AUTO_N: "auto" is exact when both sizes are at most this


class SortedReference:
    """A reference sample (rows x features) sorted once, ready for many evaluations."""

    def __init__(self, rows: FloatArray) -> None:
        matrix = np.asarray(rows, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[0] == 0:
            raise ValueError("reference must be a non-empty rows x features matrix")
        self.sorted: FloatArray = np.ascontiguousarray(np.sort(matrix.T, axis=1))
        self.n = int(matrix.shape[0])
        self.features = int(matrix.shape[1])
        # Counts of reference values <= each sorted value; differs from index+1 only at ties.
        self._right: list[IntArray | None] = []
        for column in self.sorted:
            if np.any(column[1:] == column[:-1]):
                self._right.append(np.searchsorted(column, column, side="right").astype(np.int64))
            else:
                self._right.append(None)

    def statistics(self, window: FloatArray, workers: int = 1) -> FloatArray:
        """Raw KS statistic per feature of `window` (rows x features) against the reference.

        Equal, bit for bit, to `ks_2samp(reference[:, i], window[:, i]).statistic` in
        asymptotic mode; `ks_result` applies scipy's rounding for exact mode.
        """
        return self.evaluate(window, workers)[0]

    def evaluate(self, window: FloatArray, workers: int = 1) -> tuple[FloatArray, FloatArray]:
        """(raw statistics, window sorted as features x rows) of a rows x features window."""
        matrix = np.asarray(window, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != self.features or matrix.shape[0] == 0:
            raise ValueError(f"window must be a non-empty rows x {self.features} matrix")
        return self.evaluate_columns(np.array(matrix.T, order="C"), workers)

    def evaluate_columns(
        self, columns: FloatArray, workers: int = 1
    ) -> tuple[FloatArray, FloatArray]:
        """Like `evaluate` for a features x rows array, which is sorted in place and returned.

        This is the one sort per evaluation. With `workers` > 1 the features are split
        across threads; numpy releases the GIL while it sorts and searches, so two cores
        nearly halve the time.
        """
        if columns.ndim != 2 or columns.shape[0] != self.features or columns.shape[1] == 0:
            raise ValueError(f"window must be a non-empty {self.features} x rows array")
        n2 = columns.shape[1]
        # Window counts as fractions, computed once: scipy's count / n2, same float.
        le = np.arange(1, n2 + 1) / n2
        lt = np.arange(n2) / n2
        stats = np.empty(self.features, dtype=np.float64)

        def run(first: int, last: int) -> None:
            block = columns[first:last]
            block.sort(axis=1)
            for i in range(first, last):
                stats[i] = self._one(i, columns[i], le, lt)

        parts = max(1, min(workers, self.features))
        bounds = np.linspace(0, self.features, parts + 1).astype(int)
        if parts == 1:
            run(0, self.features)
        else:
            with ThreadPoolExecutor(parts) as pool:
                list(pool.map(run, bounds[:-1], bounds[1:]))
        return stats, columns

    def _one(self, i: int, window: FloatArray, le: FloatArray, lt: FloatArray) -> float:
        ref = self.sorted[i]
        n1 = self.n
        below = np.searchsorted(ref, window, side="left")  # reference values < w
        at_or_below = below
        # below == n1 means every reference value is < w: the clipped index cannot match.
        equal = ref[np.minimum(below, n1 - 1)] == window
        if equal.any():
            at_or_below = below.copy()
            hit = below[equal]
            right = self._right[i]
            at_or_below[equal] = right[hit] if right is not None else hit + 1
        if np.any(window[1:] == window[:-1]):
            le = np.searchsorted(window, window, side="right") / window.shape[0]
            lt = np.searchsorted(window, window, side="left") / window.shape[0]
        # The pair at w and the pair at the point just before w: scipy's arithmetic.
        at = at_or_below / n1 - le
        before = below / n1 - lt
        high = max(float(at.max()), float(before.max()), 0.0)
        low = min(float(at.min()), float(before.min()), 0.0)
        low_side = min(max(-low, 0.0), 1.0)
        return low_side if low_side > high else high


def ks_method(n1: int, n2: int) -> Method:
    """scipy's "auto" choice of p-value method for these sample sizes."""
    return "exact" if max(n1, n2) <= MAX_EXACT_N else "asymp"


def effective_n(n1: int, n2: int) -> int:
    """The n of the one-sample distribution scipy uses for the asymptotic p-value."""
    m, n = sorted([float(n1), float(n2)], reverse=True)
    return int(np.round(m * n / (m + n)))


@lru_cache(maxsize=8192)
def exact_result(n1: int, n2: int, h: int) -> tuple[float, float]:
    """scipy's exact-mode (statistic, p) for D = h / lcm(n1, n2), from its public function.

    Two samples of two values each reproduce any attainable D: `i` of the first and `j`
    of the second below the split with i/n1 - j/n2 = D. When scipy's exact routine cannot
    finish it falls back to the asymptotic p with a warning, and so do we.
    """
    g = math.gcd(n1, n2)
    a, b = n2 // g, n1 // g
    i = j = 0
    if h > 0:
        i = (h * pow(a, -1, b)) % b if b > 1 else 0
        while (i * a - h) < 0 or (i * a - h) // b > n2:
            i += b
        j = (i * a - h) // b
    first = np.repeat([0.0, 2.0], [i, n1 - i])
    second = np.repeat([0.0, 2.0], [j, n2 - j])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ks_2samp(first, second, method="exact")
    return float(result.statistic), float(result.pvalue)


def ks_result(raw: FloatArray, n1: int, n2: int) -> tuple[FloatArray, FloatArray]:
    """(statistic, p-value) per feature as `ks_2samp(..., method="auto")` reports them."""
    raw = np.asarray(raw, dtype=np.float64)
    if ks_method(n1, n2) == "exact":
        lcm = (n1 // math.gcd(n1, n2)) * n2
        pairs = [exact_result(n1, n2, int(np.round(d * lcm))) for d in raw]
        return (
            np.array([s for s, _ in pairs], dtype=np.float64),
            np.array([p for _, p in pairs], dtype=np.float64),
        )
    return raw, np.clip(kstwo_sf(raw, effective_n(n1, n2)), 0.0, 1.0)


@lru_cache(maxsize=1024)
def critical_d(n1: int, n2: int, level: float) -> float:
    """The asymptotic-mode D at which scipy's p-value equals `level`.

    Computed once per (n1, n2, level); p < level exactly when D exceeds it, except within
    `CRITICAL_SLACK` of it, where `asymp_pvalue_exact` settles the case.
    """
    with np.errstate(all="ignore"):
        return float(stats.kstwo.isf(level, effective_n(n1, n2)))


CRITICAL_SLACK = 1e-9


def asymp_pvalue_exact(d: float, n1: int, n2: int) -> float:
    """scipy's own asymptotic p-value for one statistic (slow in the tail; used sparingly)."""
    with np.errstate(all="ignore"):
        return float(np.clip(stats.kstwo.sf(d, effective_n(n1, n2)), 0.0, 1.0))
