"""Evaluations to JSON and back, for the history table and the HTTP API.

Called by `drift.service`, `drift.history_table` and `drift.command` (`json_safe`).
pydantic reads and writes the frozen dataclasses, so the stored form and the served form
are the same document.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import TypeAdapter

from bot.drift.evaluation import Evaluation

_ADAPTER = TypeAdapter(Evaluation)


def json_safe(value: Any) -> Any:
    """`value` with every inf and NaN float, at any depth, made null: JSON has neither."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def evaluation_to_json(evaluation: Evaluation) -> dict[str, Any]:
    """A JSON-ready dict of one evaluation, with each report's `drift` flag added."""
    data: dict[str, Any] = _ADAPTER.dump_python(evaluation, mode="python")
    for key in ("inputs", "predictions"):
        report = getattr(evaluation, key)
        if report is not None:
            data[key]["drift"] = report.drift
    data["at"] = evaluation.at.isoformat()
    return dict(json_safe(data))


def evaluation_from_json(data: dict[str, Any]) -> Evaluation:
    """Read back what `evaluation_to_json` wrote."""
    return _ADAPTER.validate_python(data)
