"""The report posted when triage gives up on a notification.

Used by `triage.processing`. A notification whose triage raises (a `startsAt` in year
0001 or 9999 overflowing date arithmetic, a bug, a store error) counts an attempt in the
store (`NotificationStore.failed_attempt`, so restarts and other replicas count too).
After `max_attempts` the row is marked failed with the reason and people are told with
`could_not_triage`: the alert's own text and why, never a group without its message and
never a row retried forever.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.model.alert import Notification
from bot.model.evidence import Verdict
from bot.model.report import TriageReport
from bot.model.target import Target
from bot.triage.pipeline import alert_lines


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
