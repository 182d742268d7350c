"""CSV files with a header row, read into typed feature columns.

Called by `drift.command` (reference and production files) and `drift.ingest.reference_file`
(a model's reference file). Every problem becomes a `TableError` whose message names the
file, and where it can the column, the line and the value: the command prints it as is.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

MISSING = frozenset({"", "na", "nan", "null", "none", "n/a"})


class TableError(ValueError):
    """A file cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Table:
    """The cells of a CSV file, column by column, as text."""

    path: Path
    names: tuple[str, ...]
    cells: Mapping[str, tuple[str, ...]]

    @property
    def rows(self) -> int:
        """Number of data rows."""
        return len(self.cells[self.names[0]]) if self.names else 0


def read_table(path: Path) -> Table:
    """Read a CSV file with a header row; `TableError` for anything unusable."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise TableError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TableError(f"{path}: is a directory, not a CSV file") from None
    except UnicodeDecodeError:
        raise TableError(f"{path}: not UTF-8 text") from None
    except (OSError, csv.Error) as exc:
        raise TableError(f"{path}: cannot read: {exc}") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise TableError(f"{path}: empty file (a header row is required)")
    names = tuple(cell.strip() for cell in rows[0])
    if any(not n for n in names):
        raise TableError(f"{path}: the header has an empty column name")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TableError(f"{path}: duplicate column names: {', '.join(duplicates)}")
    body = rows[1:]
    if not body:
        raise TableError(f"{path}: no data rows after the header")
    for number, row in enumerate(body, start=2):
        if len(row) != len(names):
            raise TableError(
                f"{path}: line {number} has {len(row)} fields, the header has {len(names)}"
            )
    cells = {n: tuple(row[i].strip() for row in body) for i, n in enumerate(names)}
    return Table(path, names, cells)


def _number(cell: str) -> float | None:
    """The cell as a finite float, NaN when missing, None when it is not a number."""
    if cell.lower() in MISSING:
        return math.nan
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def is_numeric(table: Table, name: str) -> bool:
    """True when every present cell of the column is a finite number.

    A column that is mostly numbers with a few other values is garbage, not categories:
    `TableError` names the first bad cell.
    """
    cells = table.cells[name]
    present = [(i, c) for i, c in enumerate(cells) if c.lower() not in MISSING]
    bad = [(i, c) for i, c in present if _number(c) is None]
    if not bad:
        return bool(present)
    if len(bad) * 2 < len(present):
        line, cell = bad[0]
        raise TableError(
            f"{table.path}: column {name!r} line {line + 2}: {cell!r} is not a finite number"
        )
    return False


def numeric_column(table: Table, name: str) -> npt.NDArray[np.float64]:
    """The column as floats (NaN where missing); `TableError` at the first bad cell."""
    out = np.empty(table.rows, dtype=np.float64)
    for i, cell in enumerate(table.cells[name]):
        value = _number(cell)
        if value is None:
            raise TableError(
                f"{table.path}: column {name!r} line {i + 2}: {cell!r} is not a finite number"
            )
        out[i] = value
    return out


def category_column(table: Table, name: str) -> npt.NDArray[np.str_]:
    """The present cells of the column as text categories."""
    return np.array([c for c in table.cells[name] if c.lower() not in MISSING], dtype=str)
