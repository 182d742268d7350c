"""Render a triage report and the message's state as one Slack message (Block Kit).

Pure: called by `slack.notifier` for every notification and by `slack.dispatch` after an
action changes the state (acknowledged, silenced, an outcome). It never talks to Slack;
`slack.limits` guards the sizes, `slack.sections` formats the evidence, `slack.mrkdwn`
escapes every outside text and makes the only links. Each part is rendered on its own: a
part that fails is left out with a note, so a group never goes without its message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import TypeAdapter

from bot.actions.plan import RollbackPlan, plan_from_evidence
from bot.model.kserve_evidence import InferenceServiceEvidence
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
    MAX_TEXT,
    clip,
)
from bot.slack.mrkdwn import escape, link, plain, user_mention
from bot.slack.sections import evidence_blocks, mrkdwn, section

COLORS = {"critical": "#E01E5A", "warning": "#ECB22E", "resolved": "#2EB67D"}
DEFAULT_COLOR = "#36C5F0"
MAX_OUTCOMES = 5
T = TypeVar("T")
log = logging.getLogger(__name__)


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
    text = clip(plain(" · ".join(parts)), MAX_HEADER)
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _header_of(report: TriageReport) -> dict[str, Any]:
    """The header with nothing from outside in it, for when the real one fails."""
    text = f"{report.status.upper()} · alert group"
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _verdict(report: TriageReport, why_lines: int = 4) -> dict[str, Any]:
    """The verdict, its action, its top reasons and the explanation it rejected, and why."""
    v = report.verdict
    cause = f"/{v.cause}" if v.cause and v.cause != "unknown" else ""
    text = f"*{escape(v.category + cause)}* ({v.confidence:.0%}): {escape(v.summary)}"
    if v.action and report.status == "firing":
        text += f"\n➡️ {escape(v.action)}"
    text += "".join(f"\n• {escape(clip(r, 300))}" for r in v.reasons[:why_lines])
    text += "".join(f"\n_{escape(clip(c, 300))}_" for c in v.considered)
    return {"type": "section", "text": mrkdwn(clip(text, MAX_TEXT))}


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
        lines.append(f"👀 Acknowledged by {user_mention(state.acknowledged_by)}{at}")
    if state.silenced_until:
        who = user_mention(state.silenced_by)
        lines.append(f"🔕 Silenced until {_when(state.silenced_until)} by {who}")
    lines += [escape(o) for o in state.outcomes[-MAX_OUTCOMES:]]
    return lines


def _links(report: TriageReport, hosts: Collection[str]) -> list[str]:
    graph = next((a.generator_url for a in report.alerts if a.generator_url), "")
    runbook = report.common_annotations.get("runbook_url", "")
    found = [
        link(graph, "Graph", hosts),
        link(report.external_url, "Alertmanager", hosts),
        link(runbook, "Runbook", hosts),
    ]
    return [f for f in found if f]


def _button(
    label: str, payload: ButtonPayload, style: str = "", confirm: dict[str, Any] | None = None
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(plain(label), MAX_BUTTON_TEXT), "emoji": True},
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
    report: TriageReport, state: MessageState, durations: Sequence[str], problems: list[str]
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
            # A revision name no button can carry costs the rollback button, not the others.
            rollback = _part(
                "the rollback button", problems, lambda: _rollback_button(gid, ref, plan), None
            )
            if rollback is not None:
                elements.append(rollback)
        drift = report.find(DriftEvidence)
        drifted = isinstance(drift, DriftEvidence) and any(f.drifted for f in drift.features)
        if ref and (drifted or report.verdict.category in ("data-drift", "concept-drift")):
            text = f"Start a retraining Job for {escape(ref)} with the drift window?"
            confirm = _confirm("Retrain?", text, "Retrain")
            elements.append(_button("Retrain", ButtonPayload("retrain", gid, ref), "", confirm))
    if report.status == "firing" or state.outcomes:
        # The human's answer, for the case corpus (`actions.audit.feedback_for`).
        elements.append(_button("👍 Right diagnosis", ButtonPayload("feedback", gid, ref, "right")))
        elements.append(_button("👎 Wrong diagnosis", ButtonPayload("feedback", gid, ref, "wrong")))
    if not elements:
        return None
    return {"type": "actions", "block_id": f"tb-actions-{gid}", "elements": elements[:25]}


def fallback_text(report: TriageReport, mentions: Sequence[str] = ()) -> str:
    """The plain `text` Slack shows in notifications and where blocks cannot render.

    Slack parses it for mentions and links like mrkdwn: everything but the configured
    mentions is escaped."""
    who = f"{' '.join(mentions)} " if mentions and report.status == "firing" else ""
    what = report.alertname or "alert group"
    text = f"[{report.status.upper()}] {report.severity or 'none'} {what}"
    text += f" on {report.target.describe()}: {report.verdict.summary}"
    return clip(who + escape(text), MAX_FALLBACK)


def _part(what: str, problems: list[str], build: Callable[[], T], default: T) -> T:
    """`build()`, or `default` with a note in `problems` when it raises (a render bug or
    input no rule foresaw must cost that part of the message, never the message)."""
    try:
        return build()
    except Exception as exc:
        log.exception("rendering a part failed", extra={"part": what})
        problems.append(f"{what} could not be shown ({type(exc).__name__}: {str(exc)[:120]})")
        return default


def render_message(
    report: TriageReport,
    state: MessageState | None = None,
    *,
    mentions: Sequence[str] = (),
    silence_durations: Sequence[str] = ("1h", "4h", "24h"),
    link_hosts: Collection[str] = (),
) -> dict[str, Any]:
    """The whole message: `text`, top `blocks` and one colored attachment of evidence.

    Links to Graph, Alertmanager and Runbook are made only for hosts in `link_hosts`."""
    state = state or MessageState()
    problems: list[str] = []
    fallback = f"[{report.status.upper()}] alert group"
    text = _part("the summary line", problems, lambda: fallback_text(report, mentions), fallback)
    head: list[dict[str, Any] | None] = [
        _part("the header", problems, lambda: _header(report), _header_of(report)),
        _part("the verdict", problems, lambda: _verdict(report), None),
        _part("the facts", problems, lambda: _facts(report, mentions), None),
        _part("the message state", problems, lambda: _context(_state_lines(state)), None),
    ]
    tail: list[dict[str, Any] | None] = []
    notes = report.notes()
    if notes:
        tail.append(_part("the notes", problems, lambda: section("Could not check", notes), None))
    no_links: list[str] = []
    links = _part("the links", problems, lambda: _links(report, link_hosts), no_links)
    if links:
        tail.append(_context([" · ".join(links)]))
    buttons = lambda: _buttons(report, state, silence_durations, problems)  # noqa: E731
    tail.append(_part("the buttons", problems, buttons, None))
    body: list[dict[str, Any]] = []
    for ev in report.evidence():
        kind = f"the {ev.kind.replace('_', ' ')} evidence"
        body += _part(kind, problems, lambda ev=ev: evidence_blocks([ev]), [])  # type: ignore[misc]
    if problems:
        head.append(section("Rendering problems", problems))
    top = [b for b in head if b and (b["type"] != "context" or b["elements"])]
    ends = [b for b in tail if b]
    room = MAX_BLOCKS - len(top) - len(ends)
    if len(body) > room:
        dropped = len(body) - room + 1
        body = [*body[: room - 1], _context([f"… {dropped} more evidence sections not shown"])]
    color = COLORS["resolved"] if report.status == "resolved" else COLORS.get(report.severity)
    return {
        "text": text,
        "blocks": top,
        "attachments": [{"color": color or DEFAULT_COLOR, "blocks": body + ends}],
    }


def offered_buttons(message: dict[str, Any]) -> set[ButtonPayload]:
    """The buttons a rendered message offers: what `slack.dispatch` lets a click ask for."""
    blocks = [
        *message.get("blocks", []),
        *(b for a in message.get("attachments", []) for b in a.get("blocks", [])),
    ]
    found = set()
    for block in blocks:
        if block.get("type") == "actions":
            for element in block.get("elements", []):
                found.add(ButtonPayload.unpack(str(element.get("value", ""))))
    return found
