"""Silence: an Alertmanager silence (API v2) matching the group, for a chosen duration.

Run by `actions.runner`. The matchers are the group's common labels (every alert of the
group carries them, so all are silenced, and nothing outside the group); the duration must
be one the config file offers, so a forged button cannot silence for a year.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import aiohttp

from bot.actions.base import ActionError, ActionOutcome, ActionRequest

_DURATION = re.compile(r"^(\d{1,4})([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
# Labels Prometheus adds per evaluation; matching on them would miss later alerts.
_VOLATILE = frozenset({"alertstate"})


def parse_duration(text: str) -> timedelta:
    """`90m`, `4h`, `2d` as a timedelta; `ValueError` otherwise."""
    match = _DURATION.match(text)
    if not match or int(match[1]) == 0:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 4h, 1d)")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def matchers(labels: dict[str, str]) -> list[dict[str, Any]]:
    """Alertmanager v2 equality matchers for a label set."""
    return [
        {"name": k, "value": v, "isRegex": False, "isEqual": True}
        for k, v in sorted(labels.items())
        if k not in _VOLATILE and v
    ]


class SilenceAction:
    """Creates silences through the Alertmanager HTTP API."""

    name = "silence"
    long_running = False

    def __init__(
        self, session: aiohttp.ClientSession, url: str | None, durations: Sequence[str]
    ) -> None:
        self._session = session
        self._url = url
        self._durations = tuple(durations)

    async def run(self, request: ActionRequest) -> ActionOutcome:
        """POST /api/v2/silences; the outcome names the silence and its end."""
        if not self._url:
            raise ActionError("silence: no Alertmanager URL configured (ALERTMANAGER_URL)")
        if request.arg not in self._durations:
            raise ActionError(f"silence: {request.arg!r} is not an offered duration")
        found = matchers(request.report.common_labels)
        if not found:
            raise ActionError("silence: the group has no common labels to match")
        ends = request.now + parse_duration(request.arg)
        body = {
            "matchers": found,
            "startsAt": request.now.isoformat(),
            "endsAt": ends.isoformat(),
            "createdBy": f"slack:{request.user_id}",
            "comment": f"From Slack by {request.user_id} for {request.report.alertname}"
            f" ({request.model}), group {request.group_id}",
        }
        try:
            async with self._session.post(
                f"{self._url}/api/v2/silences", json=body, timeout=aiohttp.ClientTimeout(total=10)
            ) as resp:
                status, text = resp.status, await resp.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ActionError(f"silence: Alertmanager unreachable: {exc}") from exc
        if status != 200:
            raise ActionError(f"silence: Alertmanager answered {status}: {text[:200]}")
        try:
            answer = json.loads(text)
        except ValueError as exc:
            raise ActionError(
                f"silence: Alertmanager answered 200 but not JSON: {text[:200]}"
            ) from exc
        silence_id = str(answer.get("silenceID", "?")) if isinstance(answer, dict) else "?"
        until = ends.strftime("%Y-%m-%d %H:%M UTC")
        return ActionOutcome(
            True,
            f"silenced by <@{request.user_id}> for {request.arg} until {until}",
            detail=f"silence {silence_id}",
            until=ends,
        )
