"""Pydantic's validation errors as the field paths and sentences we show people.

Used wherever outside input meets a pydantic model: the webhook receiver and the drift
ingest (4xx answers), the CLI (a saved payload), the settings (a config file), Slack's
interaction payloads. One place decides how a location reads (`alerts.0.labels`) and what
the top level is called when the whole document is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError


def field_path(loc: Sequence[int | str], top: str) -> str:
    """`alerts.0.labels` for a location; `top` when the error is about the whole input."""
    return ".".join(str(part) for part in loc) or top


def first_error(exc: ValidationError, top: str) -> str:
    """The first problem as `where: what` (`alerts.0.startsAt: Input should be ...`)."""
    first = exc.errors(include_url=False)[0]
    return f"{field_path(first['loc'], top)}: {first['msg']}"


def field_errors(exc: ValidationError, top: str) -> list[dict[str, str]]:
    """Every problem as `{"field", "message"}`, in pydantic's order."""
    return [
        {"field": field_path(e["loc"], top), "message": e["msg"]}
        for e in exc.errors(include_url=False)
    ]
