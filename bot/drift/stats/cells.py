"""Equal-width cells over a sorted reference column: the coarse pass of the KS statistic.

Called by `drift.stats.ks`. Placing a value in a cell is arithmetic (subtract, scale, clip,
truncate), a few cheap vector passes, where placing it among 50,000 sorted reference
values takes a branchy binary search (`np.searchsorted`) or a full sort of the window.
The cell function is monotone: a value in a higher cell is strictly greater than every
value in a lower one, equal values share a cell, and the reference values of one cell are
a contiguous run of the sorted column. That is all `drift.stats.ks` relies on to bound the
empirical CDFs inside a cell from the counts at its edges.

The cells span the reference's central 99.8% (values beyond are clipped into the two end
cells), so an outlier does not stretch them. A column whose span is zero or not finite
gets a single cell: still correct, only no faster than a sort.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

CELLS = 4096  # a cell's share of the sample must be well under a typical KS statistic
_TAIL = 0.001  # share of the reference left out at each end when sizing the cells


def cell_count(rows: int) -> int:
    """Cells for a reference of this many rows: a few values per cell at least."""
    return min(CELLS, max(1, rows // 4))


class CellGrid:
    """Cells over one sorted reference column and how many reference values precede each."""

    def __init__(self, ordered: FloatArray, cells: int) -> None:
        n = ordered.shape[0]
        cut = int(n * _TAIL)
        low, high = float(ordered[cut]), float(ordered[n - 1 - cut])
        span = high - low
        scale = (cells / span) if span > 0 and math.isfinite(span) else 0.0
        # No usable span: every value goes to cell 0 (correct, as slow as a sort).
        self.degenerate = cells == 1 or not math.isfinite(scale) or scale <= 0
        self.cells = cells
        self.low = 0.0 if self.degenerate else low
        self.scale = 0.0 if self.degenerate else scale
        counts = np.bincount(self.cell_of(ordered), minlength=cells)
        # Reference values in cells < i: cell i holds sorted[ref_below[i] : ref_below[i + 1]].
        self.ref_below: IntArray = np.concatenate(([0], np.cumsum(counts))).astype(np.intp)

    def cell_of(self, values: FloatArray) -> IntArray:
        """The cell of each value (NaN-free); monotone in the value.

        `drift.stats.ks` repeats these exact operations on a whole window at once.
        """
        if self.degenerate:
            return np.zeros(values.shape, dtype=np.intp)
        with np.errstate(over="ignore"):  # far outliers overflow to inf, then clip
            scaled = np.subtract(values, self.low)
            scaled *= self.scale
        np.clip(scaled, 0.0, self.cells - 1, out=scaled)  # also maps +-inf to the end cells
        return scaled.astype(np.intp)
