"""Two-sample Kolmogorov-Smirnov, many features at once, identical to `scipy.stats.ks_2samp`.

Called by `drift.stats.engine` (the service and the `drift` command). The reference sample is
sorted once (`SortedReference`). scipy takes the extremes of `F1 - F2` over every point
of both samples; an evaluation here finds the same extremes without sorting the window:

1. each window value goes into an equal-width cell (`drift.stats.cells`), and a bincount gives
   both CDFs exactly at every cell's greatest value (a lower bound of each extreme) and
   bounds inside every cell (the CDFs only grow from one edge to the next);
2. only the cells whose bound reaches the lower bound can hold an extreme, usually a few
   dozen of 4,096: their window values are sorted, and at each of them and just before
   it both CDFs are counted and differenced with scipy's own arithmetic (count / n, then
   the difference). With the cell tops these include every point where scipy's
   extremes are reached.

So the statistic is the same float scipy returns, and the window is never sorted whole
(on the reference machine the sort alone took 13 ms for 50 x 10,000 values; the whole
evaluation now takes less). PSI's bins end at cell tops near the reference's deciles,
so their counts come from the same pass. The p-value follows scipy's "auto"
choice: exact when both samples have at most 10,000 rows (scipy's own exact routine,
reached through its public function), else the asymptotic
`kstwo.sf(d, round(n1*n2/(n1+n2)))`, computed by `drift.stats.kolmogorov`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt

from bot.drift.stats.cells import CellGrid, cell_count
from bot.drift.stats.compute import Compute, given_or_own
from bot.drift.stats.feature_blocks import Placement, for_each_block, pick
from bot.drift.stats.kolmogorov import kstwo_sf
from bot.drift.stats.workspace import Workspace

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
Method = Literal["exact", "asymp"]

MAX_EXACT_N = 10_000  # scipy's MAX_AUTO_N: "auto" is exact when both sizes are at most this


class SortedReference:
    """A reference sample (rows x features) sorted once, ready for many evaluations.

    Besides the sorted columns it keeps, per feature and cell (`drift.stats.cells`), the
    reference's count, the sum of its values relative to the cell grid's `low`, and both
    edges of its CDF; `drift.stats.wasserstein` reads them too.
    """

    def __init__(self, rows: FloatArray) -> None:
        matrix = np.asarray(rows, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[0] == 0:
            raise ValueError("reference must be a non-empty rows x features matrix")
        self.sorted: FloatArray = np.ascontiguousarray(np.sort(matrix.T, axis=1))
        self.n = int(matrix.shape[0])
        self.features = int(matrix.shape[1])
        self.cells = cell_count(self.n)
        grids = [CellGrid(column, self.cells) for column in self.sorted]
        self.low = np.array([[g.low] for g in grids])
        self.scale = np.array([[g.scale] for g in grids])
        self.degenerate = frozenset(i for i, g in enumerate(grids) if g.degenerate)
        self.below = np.array([g.ref_below for g in grids])  # features x (cells + 1)
        self.counts = np.diff(self.below, axis=1)
        self.f1_bottom = self.below[:, :-1] / self.n
        self.f1_top = self.below[:, 1:] / self.n
        # For `drift.stats.wasserstein`: each cell's span above the grid's low (the last cell
        # ends where it starts: the area beyond it is 0) and the reference's part of each
        # cell's integral of F1 - F2 (count x end - sum of values, over n).
        with np.errstate(all="ignore"):  # non-finite columns are degenerate: not used
            sums = np.array([
                np.bincount(g.cell_of(column), weights=column - g.low, minlength=self.cells)
                for g, column in zip(grids, self.sorted, strict=True)
            ])  # fmt: skip
            self.width = 1.0 / self.scale
            self.cell_start = np.arange(self.cells) * self.width
            self.cell_end = self.cell_start + self.width
            self.cell_end[:, -1] = self.cell_start[:, -1]
            self.ref_area = (self.counts * self.cell_end - sums) / self.n
        # PSI's bins end at the tops of the cells holding the reference's inner deciles, so
        # both samples' counts come from the cell counts, exactly.
        deciles = self.sorted[:, np.clip((np.arange(1, 10) * self.n) // 10, 0, self.n - 1)]
        self.decile_cells = np.array([g.cell_of(d) for g, d in zip(grids, deciles, strict=True)])
        self.decile_counts = np.take_along_axis(self.below, self.decile_cells + 1, axis=1)

    def statistics(self, window: FloatArray, compute: Compute | None = None) -> FloatArray:
        """Raw KS statistic per feature of `window` (rows x features, no NaN).

        Equal, bit for bit, to `ks_2samp(reference[:, i], window[:, i]).statistic` in
        asymptotic mode; `ks_result` applies scipy's rounding for exact mode.
        """
        matrix = np.asarray(window, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != self.features or matrix.shape[0] == 0:
            raise ValueError(f"window must be a non-empty rows x {self.features} matrix")
        statistics, _ = self.fit([matrix[:, i] for i in range(self.features)], compute)
        return statistics

    def fit(
        self, windows: Sequence[FloatArray], compute: Compute | None = None
    ) -> tuple[FloatArray, IntArray]:
        """(raw KS statistic, window values in PSI's bins so far) of every feature's window.

        `windows[i]` is feature i's window: 1-D and NaN-free; an empty one gives 0. The
        second array (features x 9) counts the window values up to the top of each
        `decile_cells` cell, as `decile_counts` does for the reference. Without a
        `compute`, one made for this call (serial, fresh scratch arrays).
        """
        if len(windows) != self.features:
            raise ValueError(f"expected {self.features} windows")
        statistics = np.zeros(self.features, dtype=np.float64)
        decile_counts = np.zeros(self.decile_cells.shape, dtype=np.intp)

        def run(block: slice, space: Workspace) -> None:
            placed = self.place(block, windows[block], space)
            statistics[block], decile_counts[block] = self._fit_block(placed, space)

        with given_or_own(compute) as using:
            for_each_block([w.shape[0] for w in windows], using, run)
        return statistics, decile_counts

    def place(
        self,
        rows: slice | IntArray,
        windows: Sequence[FloatArray],
        space: Workspace,
        relative: bool = False,
    ) -> Placement:
        """Put the windows of features `rows` (one length) in their cells and count them.

        The arithmetic is `CellGrid.cell_of`'s, on the whole block at once; with
        `relative`, each value less the grid's low is kept too.
        """
        k, m, g = len(windows), windows[0].shape[0], self.cells
        scaled = space.array("scaled", (k, m), np.float64)
        shifted = space.array("relative", (k, m), np.float64) if relative else scaled
        low = self.low[rows]
        with np.errstate(over="ignore", invalid="ignore"):
            for j, window in enumerate(windows):
                np.subtract(window, low[j], out=shifted[j])
            np.multiply(shifted, self.scale[rows], out=scaled)
        features = np.arange(self.features)[rows].tolist()
        for j, feature in enumerate(features):
            if feature in self.degenerate:
                scaled[j] = 0.0  # one cell (an infinite value would give inf * 0 = NaN)
        np.clip(scaled, 0.0, g - 1, out=scaled)
        cells = space.array("cells", (k, m), np.intp)
        np.copyto(cells, scaled, casting="unsafe")  # truncation: these are >= 0
        counts = space.array("counts", (k, g), np.intp)
        for j in range(k):
            counts[j] = np.bincount(cells[j], minlength=g)
        top_count = np.cumsum(counts, axis=1, out=space.array("top_count", (k, g), np.intp))
        return Placement(rows, windows, shifted if relative else None, cells, counts, top_count)

    def _fit_block(self, placed: Placement, space: Workspace) -> tuple[FloatArray, IntArray]:
        rows, top_count = placed.rows, placed.top_count
        (k, m), g, n1 = placed.cells.shape, self.cells, self.n
        bottom_count = np.subtract(
            top_count, placed.counts, out=space.array("bottom", (k, g), np.intp)
        )
        f2_top = np.divide(top_count, m, out=space.array("f2_top", (k, g), np.float64))
        f2_bottom = np.divide(bottom_count, m, out=space.array("f2_bottom", (k, g), np.float64))
        f1_top, f1_bottom = self.f1_top[rows], self.f1_bottom[rows]
        # F1 - F2 at the top of each cell is F1 - F2 at the cell's greatest value, a point
        # scipy also takes (for an empty cell: at the greatest value below it, or 0).
        scratch = space.array("scratch", (k, g), np.float64)
        high = np.subtract(f1_top, f2_top, out=scratch).max(axis=1)
        low = np.subtract(f2_top, f1_top, out=scratch).max(axis=1)
        # Inside a cell F1 is at most its top-edge value and F2 at least its bottom-edge
        # value (and the other way round); the arithmetic is scipy's and rounding is
        # monotone, so a cell holding an extreme is never left out.
        maybe = space.array("maybe", (k, g), np.bool_)
        other = space.array("other", (k, g), np.bool_)
        np.greater_equal(np.subtract(f1_top, f2_bottom, out=scratch), high[:, None], out=maybe)
        np.greater_equal(np.subtract(f2_top, f1_bottom, out=scratch), low[:, None], out=other)
        np.logical_or(maybe, other, out=maybe)

        # 2. The window values in those cells, sorted by feature, then value.
        mine, mine_cells, starts = pick(placed, placed.windows, maybe, space)
        ref_at_most, ref_below = np.empty_like(mine_cells), np.empty_like(mine_cells)
        for j, feature in enumerate(np.arange(self.features)[rows].tolist()):
            seg = slice(starts[j], starts[j + 1])
            ref = self.sorted[feature]
            ref_at_most[seg] = ref.searchsorted(mine[seg], side="right")
            ref_below[seg] = ref.searchsorted(mine[seg], side="left")
        # Window values <= / < a picked value: all in lower cells, plus the picked ones of
        # its cell up to the end / start of its run of ties.
        cell_start, tie_start, tie_end = _runs(mine, mine_cells)
        below_cell = bottom_count.ravel()[mine_cells] - cell_start
        win_at_most, win_below = below_cell + tie_end, below_cell + tie_start

        # 3. The extremes: over the cell tops (above), at each picked value and just
        # before it.
        feature_of = mine_cells // g
        highs, lows = high.copy(), -low
        for diffs in (ref_at_most / n1 - win_at_most / m, ref_below / n1 - win_below / m):
            np.maximum.at(highs, feature_of, diffs)
            np.minimum.at(lows, feature_of, diffs)
        low_side = np.clip(-lows, 0.0, 1.0)
        statistics = np.where(low_side > highs, low_side, highs)
        return statistics, np.take_along_axis(top_count, self.decile_cells[rows], axis=1)


def _runs(values: FloatArray, cells: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """For values sorted by (cell, value): where each one's cell starts, and where its run
    of equal values starts and ends (exclusive)."""
    size = values.shape[0]
    new_cell = np.ones(size, dtype=bool)
    new_cell[1:] = cells[1:] != cells[:-1]
    new_tie = new_cell.copy()
    new_tie[1:] |= values[1:] != values[:-1]
    cell_first = np.flatnonzero(new_cell)[np.cumsum(new_cell) - 1]
    tie_first = np.flatnonzero(new_tie)
    tie = np.cumsum(new_tie) - 1
    tie_end = np.append(tie_first[1:], size)
    return cell_first, tie_first[tie], tie_end[tie]


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
    from scipy import stats  # lazy: scipy costs ~1 s to import

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


def ks_result(
    raw: FloatArray, n1: int, n2: int, compute: Compute | None = None
) -> tuple[FloatArray, FloatArray]:
    """(statistic, p-value) per feature as `ks_2samp(..., method="auto")` reports them."""
    raw = np.asarray(raw, dtype=np.float64)
    if ks_method(n1, n2) == "exact":
        lcm = (n1 // math.gcd(n1, n2)) * n2
        pairs = [exact_result(n1, n2, int(np.round(d * lcm))) for d in raw]
        return (
            np.array([s for s, _ in pairs], dtype=np.float64),
            np.array([p for _, p in pairs], dtype=np.float64),
        )
    return raw, np.clip(kstwo_sf(raw, effective_n(n1, n2), compute), 0.0, 1.0)


@lru_cache(maxsize=1024)
def critical_d(n1: int, n2: int, level: float) -> float:
    """The asymptotic-mode D at which scipy's p-value equals `level`.

    Computed once per (n1, n2, level); p < level exactly when D exceeds it, except within
    `CRITICAL_SLACK` of it, where `asymp_pvalue_exact` settles the case.
    """
    from scipy import stats  # lazy: scipy costs ~1 s to import

    with np.errstate(all="ignore"):
        return float(stats.kstwo.isf(level, effective_n(n1, n2)))


CRITICAL_SLACK = 1e-9


def asymp_pvalue_exact(d: float, n1: int, n2: int) -> float:
    """scipy's own asymptotic p-value for one statistic (slow in the tail; used sparingly)."""
    from scipy import stats  # lazy: scipy costs ~1 s to import

    with np.errstate(all="ignore"):
        return float(np.clip(stats.kstwo.sf(d, effective_n(n1, n2)), 0.0, 1.0))
