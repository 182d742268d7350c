"""The notifier interface: where a finished triage is told to people.

The worker (`triage.worker`) calls `notify` once per processed notification, in order
per alert group. Implementations: `notify.console` (stdout, the embedded default) and
`slack.notifier` (Slack, when a bot token is configured).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from bot.triage.report import TriageReport

ChangeKind = Literal["new", "update", "repeat", "resolved"]


@dataclass(frozen=True)
class Change:
    """How this report differs from the group's previous one."""

    kind: ChangeKind
    what: tuple[str, ...] = ()  # human-readable differences, empty when nothing changed


class Notifier(Protocol):
    """Tells people about a triage."""

    async def notify(self, report: TriageReport, change: Change) -> None:
        """Deliver the report; raise to have the worker count an error and retry later."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
