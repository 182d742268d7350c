"""The store interface the service uses, met by the SQLite store and the PostgreSQL store.

`app` builds one of the two (`bot.store.sqlite.Store` by default,
`bot.store.postgres.store.PostgresStore` when `TRIAGE_BOT_DATABASE_URL` is set); the
receiver, the worker (`triage.processing`) and the API see only this shape. tests/store/
runs one suite against both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.model.report import TriageReport


@dataclass(frozen=True)
class PendingNotification:
    """A notification accepted but not yet triaged."""

    id: int
    group_key: str
    body: str


class NotificationStore(Protocol):
    """Notifications (accepted, pending, done) and the latest triage of each group."""

    is_open: bool

    async def open(self) -> None:
        """Connect and bring the schema up to date."""

    async def close(self) -> None:
        """Finish queued writes and disconnect."""

    def free_bytes(self) -> int:
        """Free space where the store writes (the receiver refuses below a floor)."""

    async def add_notification(self, group_key: str, status: str, dedup_key: str, body: str) -> int:
        """Store a notification durably; its id once committed."""

    async def pending(self) -> list[PendingNotification]:
        """Notifications not yet triaged, oldest first."""

    async def body(self, notification_id: int) -> str | None:
        """A pending notification's body; None once it is no longer pending."""

    async def recent_dedup_keys(self, since: datetime) -> list[tuple[str, datetime]]:
        """Dedup keys received since a time, with the last time each was received."""

    async def finish_notification(
        self, notification_id: int, state: str, error: str | None = None
    ) -> None:
        """Mark a notification done or failed."""

    async def get_report(self, group_key: str) -> TriageReport | None:
        """The group's latest triage report."""

    async def save_report(self, report: TriageReport, finished: int | None = None) -> None:
        """Upsert the group's triage; mark `finished` done in the same transaction."""

    async def list_triages(self, limit: int = 50) -> list[dict[str, Any]]:
        """Recent triages, newest first, as the API shows them."""

    async def failed_attempt(self, notification_id: int, error: str) -> int:
        """Count one failed triage of a notification; how many so far, this one included."""

    async def unreachable(self) -> str | None:
        """Why the store cannot take writes now, in a few words (None: it can).

        Cheap enough for every webhook and readiness probe (PostgreSQL: cached ~1 s).
        """


def triage_row(report: TriageReport) -> tuple[Any, ...]:
    """The `triages` row's values of a report, in the order both stores' upserts bind
    them: group_key, status, alertname, severity, alert_count, truncated_alerts, verdict,
    confidence, first_seen, updated_at, resolved_at, report (JSON text)."""
    resolved = report.finished_at.isoformat() if report.status == "resolved" else None
    return (
        report.group_key,
        report.status,
        report.alertname,
        report.severity,
        report.alert_count,
        report.truncated_alerts,
        report.verdict.category,
        report.verdict.confidence,
        report.started_at.isoformat(),
        report.finished_at.isoformat(),
        resolved,
        json.dumps(report.to_dict()),
    )
