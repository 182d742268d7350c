"""Small readers of Kubernetes JSON values: timestamps, quantities, conditions.

Used by every collector in `bot.cluster`; pure functions of plain JSON, so a missing or
odd field (`eventTime: null`, an empty status) reads as "unknown" instead of raising.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.model.cluster_evidence import Condition

JSON = dict[str, Any]

_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
}


def obj(value: Any) -> JSON:
    """`value` if it is a JSON object, else an empty one (fields may be null)."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[JSON]:
    """The objects of a JSON array, skipping anything that is not an object."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def text(value: Any) -> str:
    """A JSON scalar as text; null reads as empty."""
    return "" if value is None else str(value)


def timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (`2026-11-24T19:00:49Z`, fractions allowed), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def quantity(value: Any) -> float | None:
    """A resource quantity (`512Mi`, `1.5Gi`, `500m`, `2`) as a plain number, or None."""
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if not match or match.group(2) not in _SUFFIX:
        return None
    return float(match.group(1)) * _SUFFIX[match.group(2)]


def conditions(status: JSON) -> tuple[Condition, ...]:
    """The status conditions of an object."""
    return tuple(
        Condition(
            type=text(c.get("type")),
            status=text(c.get("status")),
            reason=text(c.get("reason")),
            message=text(c.get("message")),
            since=timestamp(c.get("lastTransitionTime")),
        )
        for c in items(status.get("conditions"))
    )


def condition_true(status: JSON, kind: str) -> bool | None:
    """True/False for a condition's status, None when the condition is absent or Unknown."""
    for c in conditions(status):
        if c.type == kind:
            return {"True": True, "False": False}.get(c.status)
    return None
