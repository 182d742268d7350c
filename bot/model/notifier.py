"""The notifier interface: where a finished triage is told to people (in the model, as
the triage worker calls it and the notifiers above it implement it).

The worker (`triage.worker`) calls `notify` once per processed notification, in order
per alert group. Implementations: `notify.console` (stdout, the embedded default) and
`slack.notifier` (Slack, when a bot token is configured).
"""

from __future__ import annotations

from typing import Protocol

from bot.model.change import Change
from bot.model.report import TriageReport


class Notifier(Protocol):
    """Tells people about a triage."""

    async def notify(self, report: TriageReport, change: Change) -> None:
        """Deliver the report; raise to have the worker count an error and retry later."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
