"""A bounded window of recent rows: the newest N, none older than the age limit.

Owned by `drift.monitor`, one per model for inputs and one for predictions. A ring
buffer of numeric (float64) and categorical (text) columns with the arrival time of
each row; `snapshot` hands copies to the engine so evaluation can run in a thread while
ingest goes on. `state`/`from_state` are the arrays `drift.persist` writes to disk.
`prediction_matrices` shapes a column of predictions as window rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
TextArray = npt.NDArray[np.object_]


class Window:
    """Rows in arrival order, bounded by count and by age."""

    def __init__(self, numeric: int, categorical: int, capacity: int, max_age: float) -> None:
        self.capacity = capacity
        self.max_age = max_age
        self._numeric = np.zeros((capacity, numeric), dtype=np.float64)
        self._text: TextArray = np.full((capacity, categorical), "", dtype=object)
        self._times = np.zeros(capacity, dtype=np.float64)
        self._end = 0  # next slot to write
        self._size = 0

    @property
    def rows(self) -> int:
        """Rows currently held (before the age limit is applied by `evict`)."""
        return self._size

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the buffers (text cells counted at their current size)."""
        text = sum(len(str(v)) + 49 for v in self._text.flat) if self._text.size else 0
        return int(self._numeric.nbytes + self._times.nbytes + self._text.nbytes + text)

    def append(self, numeric: FloatArray, text: npt.NDArray[Any], at: float) -> None:
        """Add rows (numeric rows x features, text rows x features) arriving at `at`."""
        count = max(numeric.shape[0], text.shape[0])
        if count == 0:
            return
        if count > self.capacity:
            numeric, text, count = numeric[-self.capacity :], text[-self.capacity :], self.capacity
        slots = (self._end + np.arange(count)) % self.capacity
        if self._numeric.shape[1]:
            self._numeric[slots] = numeric
        if self._text.shape[1]:
            self._text[slots] = text
        self._times[slots] = at
        self._end = int((self._end + count) % self.capacity)
        self._size = min(self.capacity, self._size + count)

    def _order(self) -> npt.NDArray[np.int64]:
        start = (self._end - self._size) % self.capacity
        return (start + np.arange(self._size)) % self.capacity

    def evict(self, now: float) -> int:
        """Drop rows older than the age limit; returns how many went."""
        order = self._order()
        old = int(np.searchsorted(self._times[order], now - self.max_age, side="left"))
        self._size -= old
        return old

    def snapshot(self, now: float) -> tuple[FloatArray, TextArray, FloatArray]:
        """Copies of (numeric, text, times) of the live rows, oldest first."""
        self.evict(now)
        order = self._order()
        return self._numeric[order].copy(), self._text[order].copy(), self._times[order].copy()

    def state(self, now: float) -> dict[str, npt.NDArray[Any]]:
        """Arrays to persist (text as fixed-width unicode, no pickling)."""
        numeric, text, times = self.snapshot(now)
        return {"numeric": numeric, "text": text.astype(str), "times": times}

    def load(self, state: dict[str, npt.NDArray[Any]]) -> None:
        """Refill from `state` arrays (rows beyond capacity: the newest are kept)."""
        numeric = np.asarray(state["numeric"], dtype=np.float64)
        text = np.asarray(state["text"]).astype(object)
        times = np.asarray(state["times"], dtype=np.float64)
        if numeric.shape[1:] != self._numeric.shape[1:] or text.shape[1:] != self._text.shape[1:]:
            raise ValueError("stored window has other features than the model")
        count = min(times.shape[0], self.capacity)
        self._numeric[:count] = numeric[times.shape[0] - count :]
        self._text[:count] = text[times.shape[0] - count :]
        self._times[:count] = times[times.shape[0] - count :]
        self._end, self._size = count % self.capacity, count


def prediction_matrices(
    task: str, column: npt.NDArray[Any]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[Any]]:
    """(numeric, text) window rows of a prediction column: text for classification."""
    count = column.shape[0]
    if task == "classification":
        return np.zeros((count, 0)), column[:, None].astype(object)
    return column[:, None], np.zeros((count, 0), dtype=object)
