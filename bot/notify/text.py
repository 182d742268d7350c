"""Plain-text rendering of a triage for a person at a terminal (pure).

Used by the console notifier and by `triage-bot triage` without `--json`.
"""

from __future__ import annotations

from bot.model.change import Change
from bot.model.report import TriageReport

_ICON = {"firing": "FIRING", "resolved": "RESOLVED"}


def render_text(report: TriageReport, change: Change | None = None) -> str:
    """A readable multi-line summary: headline, verdict, why, action, evidence, notes."""
    v = report.verdict
    title = f"[{_ICON.get(report.status, report.status.upper())}]"
    if report.severity:
        title += f" {report.severity}"
    title += f" {report.alertname or 'alert group'} on {report.target.describe()}"
    lines = [title]
    if change is not None and change.kind != "new":
        detail = f": {'; '.join(change.what)}" if change.what else ""
        lines.append(f"  change: {change.kind}{detail}")
    count = f"{report.alert_count} alert{'s' if report.alert_count != 1 else ''}"
    if report.truncated_alerts:
        count += f" ({report.truncated_alerts} truncated by Alertmanager, not shown)"
    lines.append(f"  group: {report.group_key}  ({count})")
    cause = f"/{v.cause}" if v.cause and v.cause != "unknown" else ""
    lines.append(f"  verdict: {v.category}{cause} ({v.confidence:.0%}): {v.summary}")
    lines.extend(f"    why: {reason}" for reason in v.reasons)
    lines.extend(f"    {line}" for line in v.considered)
    if v.action:
        lines.append(f"  action: {v.action}")
    evidence_lines = [line for e in report.evidence() for line in e.lines()]
    if evidence_lines:
        lines.append("  evidence:")
        lines.extend(f"    - {line}" for line in evidence_lines)
    for note in report.notes():
        lines.append(f"  note: {note}")
    shown = report.alerts[:10]
    lines.append("  alerts:")
    for alert in shown:
        summary = f": {alert.summary}" if alert.summary else ""
        when = f"since {alert.starts_at:%Y-%m-%d %H:%M:%S}Z"
        if alert.ends_at is not None:
            when = f"{when}, ended {alert.ends_at:%Y-%m-%d %H:%M:%S}Z"
        lines.append(f"    - {alert.status} {when} {alert.name}{summary}")
    if len(report.alerts) > len(shown):
        lines.append(f"    … and {len(report.alerts) - len(shown)} more")
    return "\n".join(lines)
