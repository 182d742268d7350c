"""The collector interface: one concern of evidence, gathered for one alert group.

The pipeline (`triage.pipeline`) calls every configured collector concurrently, each
under its own timeout. Collectors live in `bot.cluster`, `bot.prom_evidence` and
`bot.drift`; they never raise on purpose: an expected failure is a `CollectorError`
whose message becomes the note on the triage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.alerts.models import Notification
from bot.triage.evidence import Evidence, Target


class CollectorError(Exception):
    """A collector could not gather its evidence; the message is shown to people."""


def workload_namespace(target: Target) -> str | None:
    """Where to look: None when the labels name no workload (nothing to read).

    A workload without a namespace is a `CollectorError`: the alert cannot be placed.
    """
    if not target.names_workload:
        return None
    if not target.namespace:
        raise CollectorError(f"the alert labels name {target.describe()} but no namespace")
    return target.namespace


@dataclass(frozen=True)
class TriageContext:
    """What a collector knows about the alert group it works for."""

    notification: Notification
    target: Target
    alert_start: datetime
    now: datetime


class Collector(Protocol):
    """Gathers one kind of evidence."""

    @property
    def name(self) -> str:
        """Shown in notes, e.g. "Kubernetes pods"."""
        ...

    @property
    def timeout(self) -> float:
        """Seconds this collector may take inside the overall budget."""
        ...

    async def collect(self, context: TriageContext) -> Evidence | None:
        """The evidence, None when there is nothing to say, or `CollectorError`."""
        ...
