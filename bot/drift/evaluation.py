"""One evaluation of a model, and the snapshot it is computed from.

`drift.monitor` takes a `Snapshot` on the event loop and turns it into an `Evaluation` in
a thread; the gauges, the history (JSON and table), the triage's drift evidence and the
API read evaluations. Plain frozen values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy.typing as npt

from bot.drift.ingest.feedback import Quality
from bot.drift.stats.engine import Reference
from bot.drift.stats.results import DriftReport


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of a model: inputs, predictions and quality at one time."""

    model: str
    at: datetime
    inputs: DriftReport | None
    predictions: DriftReport | None
    quality: Quality
    note: str = ""


@dataclass(frozen=True)
class Snapshot:
    """Copies of what an evaluation needs, safe to use from a worker thread."""

    model: str
    at: datetime
    reference: Reference | None
    columns: dict[str, npt.NDArray[Any]]
    prediction_reference: Reference | None
    predictions: npt.NDArray[Any]
    quality: Quality
    note: str
