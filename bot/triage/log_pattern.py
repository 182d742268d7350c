"""A log pattern: a regular expression and what its match means (pure).

Used by `triage.log_patterns` (the shipped catalogue), `sources` (the user's patterns
from the configuration file) and the detectors that read messages through them. Named
groups (`endpoint`, `host`, `port`, `feature`) fill the summary and action; a group name
with a digit suffix (`host2`) stands in for the same name in another alternative.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

from bot.model.findings import ActionKind, Category, Cause


@dataclass(frozen=True)
class LogPattern:
    """One pattern of the catalogue."""

    name: str
    regex: re.Pattern[str]
    cause: Cause
    category: Category
    strength: float
    summary: str
    action: str
    action_kind: ActionKind = "investigate"

    def describe(self, match: re.Match[str]) -> tuple[str, str]:
        """The summary and action with the match's named groups filled in."""
        groups: dict[str, str] = {}
        for key, value in match.groupdict().items():
            if value:  # `host2`, `hostq1` stand in for `host` in other alternatives
                base = key.rstrip("0123456789")
                groups.setdefault(base[:-1] if base in ("hostq", "portq") else base, value)
        if "host" in groups and "endpoint" not in groups:
            port = groups.get("port")
            groups["endpoint"] = f"{groups['host']}:{port}" if port else groups["host"]
        values = _Defaults(groups)
        return self.summary.format_map(values), self.action.format_map(values)


class _Defaults(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return {"endpoint": "(host not named in the log)", "feature": "an input field"}.get(
            key, key
        )


def pattern(
    name: str,
    regex: str,
    cause: str,
    category: str,
    strength: float,
    summary: str,
    action: str,
    action_kind: str = "investigate",
) -> LogPattern:
    """A `LogPattern`, its regex compiled case-insensitive; names checked by the caller."""
    return LogPattern(
        name,
        re.compile(regex, re.IGNORECASE),
        cast(Cause, cause),
        cast(Category, category),
        strength,
        summary,
        action,
        cast(ActionKind, action_kind),
    )
