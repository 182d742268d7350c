"""Failed triage attempts per notification, and the report posted when triage gives up.

Used by `triage.worker` only. A notification whose triage raises (a `startsAt` in year
0001 or 9999 overflowing date arithmetic, a bug, a store error) counts an attempt here,
in the store, so restarts count too. After `max_attempts` the worker marks it failed with
the reason and tells people with `could_not_triage`: the alert's own text and why, never
a group without its message and never a row retried forever.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.model.alert import Notification
from bot.model.evidence import Verdict
from bot.model.report import TriageReport
from bot.model.target import Target
from bot.store.sqlite import Store, now_text
from bot.triage.pipeline import alert_lines

SCHEMA = """
CREATE TABLE IF NOT EXISTS triage_attempts (
    notification_id INTEGER PRIMARY KEY,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


class TriageAttempts:
    """The attempts table on the store's connection."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def ensure(self) -> None:
        """Create the table when missing."""
        await self._store.ensure_schema(SCHEMA)

    async def failed(self, notification_id: int, error: str) -> int:
        """Count one failed attempt; how many there have been, this one included."""
        await self._store.write(
            (
                "INSERT INTO triage_attempts (notification_id, attempts, last_error, updated_at)"
                " VALUES (?, 1, ?, ?) ON CONFLICT(notification_id) DO UPDATE SET"
                " attempts = attempts + 1, last_error = excluded.last_error,"
                " updated_at = excluded.updated_at",
                (notification_id, error, now_text()),
            )
        )
        async with self._store.connection.execute(
            "SELECT attempts FROM triage_attempts WHERE notification_id = ?", (notification_id,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 1


def could_not_triage(notification: Notification, reason: str) -> TriageReport:
    """A report that says triage failed and why, carrying the alerts' own text."""
    now = datetime.now(UTC)
    labels = {**notification.common_labels, **notification.group_labels}
    own = notification.common_annotations.get("summary") or notification.common_annotations.get(
        "description", ""
    )
    summary = f"could not triage: {reason}"
    reasons = (f"alert says: {own}",) if own else ()
    verdict = Verdict(
        category="unknown",
        confidence=0.0,
        summary=summary,
        reasons=reasons,
        action="read the alert and its graph; the triage will not be retried",
        action_kind="investigate",
    )
    return TriageReport(
        group_key=notification.group_key,
        status=notification.status,
        receiver=notification.receiver,
        alertname=notification.alertname,
        severity=labels.get("severity", ""),
        target=Target(namespace=labels.get("namespace")),
        alerts=alert_lines(notification),
        truncated_alerts=notification.truncated_alerts,
        results=(),
        verdict=verdict,
        started_at=now,
        finished_at=now,
        external_url=notification.external_url,
        common_labels=dict(notification.common_labels),
        common_annotations=dict(notification.common_annotations),
    )
