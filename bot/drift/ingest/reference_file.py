"""A model's reference sample from a file: CSV with a header, `.npy` or `.npz`.

Called by `drift.service` at start for each model whose config names a file; returns
columns by feature name for `drift.monitor`. A file that cannot be used raises
`ValueError` naming the model's file and the problem, so the service refuses to start
rather than monitor against the wrong sample.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.drift.ingest import tabular


def load_reference(
    path: Path, features: Sequence[str], categorical: Collection[str]
) -> dict[str, npt.NDArray[Any]]:
    """Columns of the reference file, named by `features` (or the CSV header)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv(path, features, categorical)
    if suffix not in (".npy", ".npz"):
        raise ValueError(f"{path}: reference must be .csv, .npy or .npz")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            arrays = {k: loaded[k] for k in loaded.files}
        if features and all(f in arrays for f in features):
            return {f: _column(arrays[f], f, categorical, path) for f in features}
        if len(arrays) != 1:
            raise ValueError(f"{path}: expected one array or one array per feature")
        matrix = next(iter(arrays.values()))
    else:
        matrix = loaded
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise ValueError(f"{path}: expected a non-empty rows x features array")
    names = tuple(features) or tuple(f"f{i}" for i in range(matrix.shape[1]))
    if len(names) != matrix.shape[1]:
        raise ValueError(f"{path}: {matrix.shape[1]} columns, {len(names)} features configured")
    return {n: _column(matrix[:, i], n, categorical, path) for i, n in enumerate(names)}


def _column(
    values: npt.NDArray[Any], name: str, categorical: Collection[str], path: Path
) -> npt.NDArray[Any]:
    if name in categorical:
        return values.astype(str)
    try:
        column = values.astype(np.float64)
    except ValueError:
        raise ValueError(f"{path}: feature {name!r} is not numeric") from None
    if not np.isfinite(column).all():
        raise ValueError(f"{path}: feature {name!r} has missing or infinite values")
    return column


def _csv(
    path: Path, features: Sequence[str], categorical: Collection[str]
) -> dict[str, npt.NDArray[Any]]:
    table = tabular.read_table(path)  # its TableError is a ValueError naming the file
    names = tuple(features) or table.names
    missing = [n for n in names if n not in table.cells]
    if missing:
        raise ValueError(f"{path}: no column for features {', '.join(missing)}")
    out: dict[str, npt.NDArray[Any]] = {}
    for name in names:
        if name in categorical:
            out[name] = tabular.category_column(table, name)
            continue
        try:
            column = tabular.numeric_column(table, name)
        except tabular.TableError as exc:
            raise ValueError(f"{exc} (list it under categorical if it is a category)") from None
        if np.isnan(column).any():
            raise ValueError(f"{path}: feature {name!r} has missing values")
        out[name] = column
    return out
