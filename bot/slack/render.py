"""Render a triage report and the message's state as one Slack message (Block Kit).

Pure: called by `slack.notifier` for every notification and by `slack.dispatch` after an
action changes the state (acknowledged, silenced, an outcome). It never talks to Slack;
`slack.limits` guards the sizes, `slack.sections` formats the evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from bot.actions.plan import RollbackPlan, plan_from_evidence
from bot.model.cluster_evidence import InferenceServiceEvidence
from bot.model.report import TriageReport
from bot.model.signal_evidence import DriftEvidence
from bot.model.target import Target
from bot.slack.buttons import ButtonPayload, group_id
from bot.slack.limits import (
    MAX_BLOCKS,
    MAX_BUTTON_TEXT,
    MAX_CONFIRM_TEXT,
    MAX_FALLBACK,
    MAX_HEADER,
    clip,
)
from bot.slack.sections import escape, evidence_blocks, mrkdwn, section

COLORS = {"critical": "#E01E5A", "warning": "#ECB22E", "resolved": "#2EB67D"}
DEFAULT_COLOR = "#36C5F0"
MAX_OUTCOMES = 5


@dataclass(frozen=True)
class MessageState:
    """What people did with the message: it survives re-rendering on every update."""

    acknowledged_by: str = ""
    acknowledged_at: datetime | None = None
    silenced_by: str = ""
    silenced_until: datetime | None = None
    outcomes: tuple[str, ...] = ()

    def to_json(self) -> str:
        """Stored form."""
        return _STATE.dump_json(self).decode()

    @classmethod
    def from_json(cls, raw: str | None) -> MessageState:
        """Read back `to_json`; an empty state for None."""
        return _STATE.validate_json(raw) if raw else cls()


_STATE = TypeAdapter(MessageState)


def target_ref(target: Target) -> str:
    """`namespace/name` of the workload, the form buttons carry; empty when none."""
    name = target.inference_service or target.deployment or target.pod or target.model
    return f"{target.namespace or ''}/{name}" if name else ""


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _header(report: TriageReport) -> dict[str, Any]:
    resolved = report.status == "resolved"
    icon = "✅" if resolved else ("🔴" if report.severity == "critical" else "🟠")
    parts = [f"{icon} {report.status.upper()}"]
    if report.severity:
        parts.append(report.severity)
    parts.append(report.alertname or "alert group")
    if report.target.names_workload or report.target.model:
        parts.append(report.target.describe())
    text = clip(" · ".join(parts), MAX_HEADER)
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _verdict(report: TriageReport) -> dict[str, Any]:
    v = report.verdict
    why = f" — {v.reasons[0]}" if v.reasons else ""
    text = f"*{v.category}* ({v.confidence:.0%}): {escape(v.summary)}{escape(why)}"
    if v.action and report.status == "firing":
        text += f"\n➡️ {escape(v.action)}"
    return {"type": "section", "text": mrkdwn(text)}


def _context(items: Sequence[str]) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(i) for i in items[:10]]}


def _facts(report: TriageReport, mentions: Sequence[str]) -> dict[str, Any]:
    start = min((a.starts_at for a in report.alerts), default=report.started_at)
    items = [f"{report.alert_count} alert(s)", f"since {_when(start)}"]
    if report.status == "resolved":
        ends = [a.ends_at for a in report.alerts if a.ends_at]
        items.append(f"resolved {_when(max(ends) if ends else report.finished_at)}")
    if mentions and report.status == "firing":
        items.append(" ".join(mentions))
    return _context(items)


def _state_lines(state: MessageState) -> list[str]:
    lines = []
    if state.acknowledged_by:
        at = f" at {_when(state.acknowledged_at)}" if state.acknowledged_at else ""
        lines.append(f"👀 Acknowledged by <@{state.acknowledged_by}>{at}")
    if state.silenced_until:
        lines.append(f"🔕 Silenced until {_when(state.silenced_until)} by <@{state.silenced_by}>")
    lines += [escape(o) for o in state.outcomes[-MAX_OUTCOMES:]]
    return lines


def _links(report: TriageReport) -> list[str]:
    def link(url: str, label: str) -> str | None:
        if not url.startswith(("http://", "https://")) or len(url) > 1000:
            return None
        return f"<{url.replace('>', '%3E').replace('|', '%7C')}|{label}>"

    graph = next((a.generator_url for a in report.alerts if a.generator_url), "")
    runbook = report.common_annotations.get("runbook_url", "")
    found = [link(graph, "Graph"), link(report.external_url, "Alertmanager")]
    found.append(link(runbook, "Runbook"))
    return [f for f in found if f]


def _button(
    label: str, payload: ButtonPayload, style: str = "", confirm: dict[str, Any] | None = None
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(label, MAX_BUTTON_TEXT), "emoji": True},
        "action_id": payload.action_id,
        "value": payload.pack(),
    }
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = confirm
    return button


def _confirm(title: str, text: str, go: str) -> dict[str, Any]:
    return {
        "title": {"type": "plain_text", "text": title},
        "text": {"type": "mrkdwn", "text": clip(text, MAX_CONFIRM_TEXT)},
        "confirm": {"type": "plain_text", "text": go},
        "deny": {"type": "plain_text", "text": "Cancel"},
        "style": "danger",
    }


def _rollback_button(gid: str, ref: str, plan: RollbackPlan) -> dict[str, Any]:
    diff = "\n".join(escape(line) for line in plan.diff_lines())
    text = f"Roll back {escape(ref)} to {escape(plan.to_revision)}?\n```{diff}```"
    payload = ButtonPayload("rollback", gid, ref, plan.to_revision)
    return _button("Roll back", payload, "danger", _confirm("Roll back?", text, "Roll back"))


def _buttons(
    report: TriageReport, state: MessageState, durations: Sequence[str]
) -> dict[str, Any] | None:
    gid, ref = group_id(report.group_key), target_ref(report.target)
    elements = []
    if not state.acknowledged_by:
        elements.append(_button("👀 Acknowledge", ButtonPayload("ack", gid, ref)))
    if report.status == "firing":
        for d in durations:
            elements.append(_button(f"🔕 Silence {d}", ButtonPayload("silence", gid, ref, d)))
        isvc = report.find(InferenceServiceEvidence)
        plan = plan_from_evidence(isvc) if isinstance(isvc, InferenceServiceEvidence) else None
        if plan is not None and report.target.inference_service:
            elements.append(_rollback_button(gid, ref, plan))
        drift = report.find(DriftEvidence)
        drifted = isinstance(drift, DriftEvidence) and any(f.drifted for f in drift.features)
        if ref and (drifted or report.verdict.category in ("data-drift", "concept-drift")):
            text = f"Start a retraining Job for {escape(ref)} with the drift window?"
            confirm = _confirm("Retrain?", text, "Retrain")
            elements.append(_button("Retrain", ButtonPayload("retrain", gid, ref), "", confirm))
    if not elements:
        return None
    return {"type": "actions", "block_id": f"tb-actions-{gid}", "elements": elements[:25]}


def fallback_text(report: TriageReport, mentions: Sequence[str] = ()) -> str:
    """The plain `text` Slack shows in notifications and where blocks cannot render."""
    who = f"{' '.join(mentions)} " if mentions and report.status == "firing" else ""
    what = report.alertname or "alert group"
    text = f"{who}[{report.status.upper()}] {report.severity or 'none'} {what}"
    text += f" on {report.target.describe()}: {report.verdict.summary}"
    return clip(text, MAX_FALLBACK)


def render_message(
    report: TriageReport,
    state: MessageState | None = None,
    *,
    mentions: Sequence[str] = (),
    silence_durations: Sequence[str] = ("1h", "4h", "24h"),
) -> dict[str, Any]:
    """The whole message: `text`, top `blocks` and one colored attachment of evidence."""
    state = state or MessageState()
    top = [_header(report), _verdict(report), _facts(report, mentions)]
    state_lines = _state_lines(state)
    if state_lines:
        top.append(_context(state_lines))
    tail: list[dict[str, Any]] = []
    notes = report.notes()
    if notes:
        tail.append(section("Could not check", notes))
    links = _links(report)
    if links:
        tail.append(_context([" · ".join(links)]))
    actions = _buttons(report, state, silence_durations)
    if actions:
        tail.append(actions)
    body = evidence_blocks(report.evidence())
    room = MAX_BLOCKS - len(top) - len(tail)
    if len(body) > room:
        dropped = len(body) - room + 1
        body = [*body[: room - 1], _context([f"… {dropped} more evidence sections not shown"])]
    color = COLORS["resolved"] if report.status == "resolved" else COLORS.get(report.severity)
    return {
        "text": fallback_text(report, mentions),
        "blocks": top,
        "attachments": [{"color": color or DEFAULT_COLOR, "blocks": body + tail}],
    }
