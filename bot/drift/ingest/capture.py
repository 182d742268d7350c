"""Rows kept until a reference sample is complete, and model outputs as category labels.

Used by `drift.monitor` when a model has no reference file: its first `capture_rows`
rows (inputs, and predictions) become its reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from bot.drift.ingest.model_bodies import Column, category_label


def text_column(column: Column) -> npt.NDArray[np.str_]:
    """Category labels of a column: 1.0 and "1" are the same category."""
    if column.dtype.kind == "f":
        return np.array([category_label(float(v)) for v in column], dtype=str)
    return column.astype(str)


class Capture:
    """Rows kept until the reference sample is complete."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.parts: list[dict[str, npt.NDArray[Any]]] = []
        self.rows = 0

    def take(self, columns: dict[str, npt.NDArray[Any]], count: int) -> int:
        """Keep up to the missing rows; returns how many were taken."""
        need = min(self.target - self.rows, count)
        if need > 0:
            self.parts.append({k: v[:need] for k, v in columns.items()})
            self.rows += need
        return max(need, 0)

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        names: list[str] = list(self.parts[0]) if self.parts else []
        return {n: np.concatenate([p[n] for p in self.parts]) for n in names}

    @property
    def done(self) -> bool:
        return self.rows >= self.target
