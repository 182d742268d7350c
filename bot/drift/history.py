"""Evaluations to JSON and back, for the history table and the HTTP API.

Called by `drift.service` and `drift.history_table`. pydantic reads and writes the
frozen dataclasses, so the stored form and the served form are the same document.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import TypeAdapter

from bot.drift.monitor import Evaluation

_ADAPTER = TypeAdapter(Evaluation)


def _clean(value: Any) -> Any:
    """JSON has no inf or NaN: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def evaluation_to_json(evaluation: Evaluation) -> dict[str, Any]:
    """A JSON-ready dict of one evaluation, with each report's `drift` flag added."""
    data: dict[str, Any] = _ADAPTER.dump_python(evaluation, mode="python")
    for key in ("inputs", "predictions"):
        report = getattr(evaluation, key)
        if report is not None:
            data[key]["drift"] = report.drift
    data["at"] = evaluation.at.isoformat()
    return dict(_clean(data))


def evaluation_from_json(data: dict[str, Any]) -> Evaluation:
    """Read back what `evaluation_to_json` wrote."""
    return _ADAPTER.validate_python(data)
