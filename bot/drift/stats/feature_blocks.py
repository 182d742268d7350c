"""Blocks of features placed in the reference's cells: the passes KS and Wasserstein share.

Used by `drift.stats.ks` (which does the placing, `SortedReference.place`) and
`drift.stats.wasserstein`. A block is a run of features whose windows have one length, so
every pass is one numpy call over a features x rows array; blocks may run in threads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.drift.stats.compute import Compute
from bot.drift.stats.workspace import Workspace

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Placement:
    """A block of windows (features `rows`, one length m) placed in the reference's cells."""

    rows: slice | IntArray  # the block's reference columns
    windows: Sequence[FloatArray]  # k of length m
    relative: FloatArray | None  # k x m: value - the grid's low, when asked for
    cells: IntArray  # k x m: each value's cell
    counts: IntArray  # k x cells: window values per cell
    top_count: IntArray  # k x cells: window values up to the top of each cell


def pick(
    placed: Placement,
    sources: Sequence[FloatArray],
    wanted: npt.NDArray[np.bool_],
    space: Workspace,
) -> tuple[FloatArray, IntArray, IntArray]:
    """The `sources` values (`placed.windows` or the rows of `.relative`) in the `wanted`
    cells (k x cells), sorted by feature then value.

    Returns (values, their cells numbered across the block as feature * cells + cell,
    where each feature's values start, k + 1 of them).
    """
    (k, m), g = placed.cells.shape, wanted.shape[1]
    flat_cells = space.array("flat_cells", (k, m), np.intp)
    np.add(placed.cells, np.arange(0, k * g, g)[:, None], out=flat_cells)
    picked = space.array("picked", (k * m,), np.bool_)
    np.take(wanted.ravel(), flat_cells.ravel(), out=picked)
    where = np.flatnonzero(picked)
    values, cells = np.empty(where.shape[0]), flat_cells.ravel()[where]
    starts = np.searchsorted(where, np.arange(0, (k + 1) * m, m))
    for j in range(k):
        seg = slice(starts[j], starts[j + 1])
        values[seg] = np.sort(sources[j][where[seg] - j * m])
        cells[seg].sort()  # the cell is monotone in the value: the same order
    return values, cells, starts


def for_each_block(
    sizes: Sequence[int], compute: Compute, run: Callable[[slice, Workspace], None]
) -> None:
    """Call `run` on blocks of consecutive features whose windows share one length.

    One length (no missing values): the features split into `compute.workers` blocks run
    in its threads, as numpy releases the GIL in its vector passes. Otherwise one block per
    feature. Empty windows are skipped.
    """
    count = len(sizes)
    if len(set(sizes)) == 1:
        parts = max(1, min(compute.workers, count))
        bounds = np.linspace(0, count, parts + 1).astype(int).tolist()
        blocks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if a < b]
    else:
        blocks = [slice(i, i + 1) for i in range(count)]
    blocks = [b for b in blocks if sizes[b.start] > 0]

    def one(block: slice) -> None:
        with compute.workspace() as space:
            run(block, space)

    compute.map(one, blocks)
