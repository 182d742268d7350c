"""What changed between a group's previous triage and the new one (pure).

Used by the worker to tell notifiers whether to post, update, or add a thread reply.
"""

from __future__ import annotations

from bot.model.change import Change
from bot.model.report import TriageReport


def _firing(report: TriageReport) -> set[str]:
    return {_alert_id(a.labels) for a in report.alerts if a.status == "firing"}


def _alert_id(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname") or "-"


def describe_change(previous: TriageReport | None, current: TriageReport) -> Change:
    """Classify the new report against the previous one and list the differences."""
    if previous is None:
        return Change("resolved" if current.status == "resolved" else "new")
    what: list[str] = []
    if current.status == "resolved" and previous.status != "resolved":
        return Change("resolved", ("all alerts resolved",))
    if current.status == "firing" and previous.status == "resolved":
        what.append("firing again after being resolved")
    before, now = _firing(previous), _firing(current)
    if added := len(now - before):
        what.append(f"{added} new alert{'s' if added > 1 else ''} firing")
    if gone := len(before - now):
        what.append(f"{gone} alert{'s' if gone > 1 else ''} resolved")
    if current.truncated_alerts != previous.truncated_alerts:
        what.append(f"{current.truncated_alerts} alerts truncated by Alertmanager")
    if current.verdict.category != previous.verdict.category:
        what.append(f"verdict changed: {previous.verdict.category} → {current.verdict.category}")
    if what:
        return Change("update", tuple(what))
    return Change("repeat")
