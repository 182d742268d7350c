"""Wasserstein-1 distances of windows to the reference, from the KS cells, without sorting.

Called by `drift.stats.engine` for the features the KS test flags (the distance is the effect
that decides whether the shift matters). W1 is the area between the two CDFs,
the integral of |F1 - F2|. Inside one cell of `drift.stats.cells` the integral of F1 - F2
follows from each sample's count and value sum in the cell (integrating an empirical
CDF piece by piece), so where F1 - F2 keeps one sign across a cell, which the counts at
the cell's edges prove, the cell's share of the area is the absolute value of that
integral. Only the few cells where the sign may change are integrated point by point.
Agrees with `scipy.stats.wasserstein_distance` to ~1e-13 relative (tests/drift).
Reference columns without a usable grid, and windows with infinite values, take the
sorted path in `drift.stats.effects` instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from bot.drift.stats import effects
from bot.drift.stats.compute import Compute, given_or_own
from bot.drift.stats.feature_blocks import Placement, for_each_block, pick
from bot.drift.stats.ks import SortedReference
from bot.drift.stats.workspace import Workspace

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def distances(
    reference: SortedReference,
    features: Sequence[int],
    windows: Sequence[FloatArray],
    compute: Compute | None = None,
) -> FloatArray:
    """W1 between each window (1-D, NaN-free, non-empty) and its reference column."""
    out = np.full(len(features), np.nan)
    columns = np.asarray(features, dtype=np.intp)

    def run(block: slice, space: Workspace) -> None:
        with np.errstate(invalid="ignore", over="ignore"):  # infinite values: NaN, then sorted
            _run(block, space)

    def _run(block: slice, space: Workspace) -> None:
        rows, local = columns[block], list(windows[block])
        result = np.full(len(local), np.nan)
        plain = [j for j, f in enumerate(rows.tolist()) if f not in reference.degenerate]
        if plain:
            placed = reference.place(_rows(rows[plain]), [local[j] for j in plain], space, True)
            result[plain] = _binned(reference, placed, space)
        for j in np.flatnonzero(~np.isfinite(result)).tolist():
            ordered = np.sort(local[j])
            result[j] = effects.wasserstein_sorted(reference.sorted[rows[j]], ordered)
        out[block] = result

    with given_or_own(compute) as using:
        for_each_block([w.shape[0] for w in windows], using, run)
    return out


def _binned(reference: SortedReference, placed: Placement, space: Workspace) -> FloatArray:
    """Distances of a placed block; NaN or inf for a window with infinite values."""
    rows, relative = placed.rows, placed.relative
    assert relative is not None
    (k, m), g = placed.cells.shape, reference.cells
    sums = space.array("w_sums", (k, g), np.float64)
    for j in range(k):
        sums[j] = np.bincount(placed.cells[j], weights=relative[j], minlength=g)
    counts, top = placed.counts, placed.top_count
    f1_bottom, f1_top = reference.f1_bottom[rows], reference.f1_top[rows]
    f2_top = np.divide(top, m, out=space.array("w_f2_top", (k, g), np.float64))
    f2_bottom = space.array("w_f2_bottom", (k, g), np.float64)
    np.divide(np.subtract(top, counts, out=space.array("w_bottom", (k, g), np.intp)), m,
              out=f2_bottom)  # fmt: skip
    width, start, end = reference.width[rows], reference.cell_start[rows], reference.cell_end[rows]
    below = np.subtract(f1_bottom, f2_bottom, out=space.array("w_below", (k, g), np.float64))
    # Integral of F1 - F2 over each cell: F1 - F2 below it times the width, plus for each
    # value in the cell the distance to the cell's end, over n (with the sample's sign).
    area = space.array("w_area", (k, g), np.float64)
    scratch = space.array("w_scratch", (k, g), np.float64)
    np.multiply(below, width, out=area)
    area += reference.ref_area[rows]
    np.multiply(counts, end, out=scratch)
    scratch -= sums
    scratch /= m
    area -= scratch
    area[:, -1] -= below[:, -1] * width[:, 0]  # the last cell has no width
    # F1 - F2 inside a cell lies between these; if they straddle 0 the sign may change.
    crossing = space.array("w_crossing", (k, g), np.bool_)
    other = space.array("w_other", (k, g), np.bool_)
    np.less(np.subtract(f1_bottom, f2_top, out=scratch), 0.0, out=crossing)
    np.greater(np.subtract(f1_top, f2_bottom, out=scratch), 0.0, out=other)
    crossing &= other
    np.abs(area, out=area)
    area[crossing] = 0.0
    total: FloatArray = area.sum(axis=1)
    return total + _crossing_cells(reference, placed, crossing, below, start, end, space)


def _crossing_cells(
    reference: SortedReference,
    placed: Placement,
    crossing: npt.NDArray[np.bool_],
    below: FloatArray,
    start: FloatArray,
    end: FloatArray,
    space: Workspace,
) -> FloatArray:
    """The area in the crossing cells, integrated between consecutive values of both."""
    (k, m), g, n1 = placed.cells.shape, reference.cells, reference.n
    assert placed.relative is not None
    mine, mine_cells, mine_starts = pick(placed, list(placed.relative), crossing, space)
    # Reference values of the crossing cells, relative to the grid's low like the sums,
    # in the same order: by feature, then value.
    flat = np.flatnonzero(crossing)
    columns = np.arange(reference.features)[placed.rows][flat // g]
    sizes = reference.counts[columns, flat % g]
    theirs_at = _ranges(columns * n1 + reference.below[columns, flat % g], sizes)
    theirs = reference.sorted.ravel()[theirs_at] - np.repeat(reference.low[columns, 0], sizes)
    theirs_cells = np.repeat(flat, sizes)
    theirs_starts = np.searchsorted(theirs_cells, np.arange(0, (k + 1) * g, g))
    size = theirs.shape[0] + mine.shape[0]
    result = np.zeros(k)
    if size == 0:
        return result
    # Merge both sorted runs of each feature (a stable sort of two runs is one merge).
    points, cells = np.empty(size), np.empty(size, dtype=np.intp)
    steps = np.empty(size)
    at = 0
    for j in range(k):
        ours = slice(theirs_starts[j], theirs_starts[j + 1])
        yours = slice(mine_starts[j], mine_starts[j + 1])
        here = np.concatenate((theirs[ours], mine[yours]))
        order = np.argsort(here, kind="stable")
        done = at + here.shape[0]
        points[at:done] = here[order]
        cells[at:done] = np.concatenate((theirs_cells[ours], mine_cells[yours]))[order]
        steps[at:done] = np.where(order < ours.stop - ours.start, 1.0 / n1, -1.0 / m)
        at = done
    new_cell = np.ones(size, dtype=bool)
    new_cell[1:] = cells[1:] != cells[:-1]
    heads = np.flatnonzero(new_cell)
    running = np.cumsum(steps)
    before_cell = (running[heads] - steps[heads])[np.cumsum(new_cell) - 1]
    level = below.ravel()[cells] + running - before_cell  # F1 - F2 from each value on
    following = np.empty(size)
    following[:-1] = points[1:]
    last = np.append(heads[1:] - 1, size - 1)
    following[last] = end.ravel()[cells[last]]
    pieces = np.abs(level) * (following - points)
    lead = np.abs(below.ravel()[cells[heads]]) * (points[heads] - start.ravel()[cells[heads]])
    np.add.at(result, cells // g, pieces)
    np.add.at(result, cells[heads] // g, lead)
    return result


def _rows(columns: IntArray) -> slice | IntArray:
    """Consecutive columns as a slice: numpy then reads the reference's arrays in place
    rather than copying them (a fresh copy costs its page faults)."""
    first = int(columns[0])
    if np.array_equal(columns, np.arange(first, first + columns.shape[0])):
        return slice(first, first + columns.shape[0])
    return columns


def _ranges(starts: IntArray, sizes: IntArray) -> IntArray:
    """Concatenated `arange(start, start + size)` for each pair, without a Python loop."""
    total = int(sizes.sum())
    if total == 0:
        return np.empty(0, dtype=np.intp)
    kept = np.flatnonzero(sizes > 0)
    steps = np.ones(total, dtype=np.intp)
    heads = np.cumsum(sizes[kept])[:-1]
    steps[0] = starts[kept[0]]
    # At each run's head, jump from the previous run's last index to this run's start.
    steps[heads] = starts[kept[1:]] - (starts[kept[:-1]] + sizes[kept[:-1]] - 1)
    return np.cumsum(steps)
