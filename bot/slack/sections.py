"""Evidence as Block Kit sections: one titled section per kind of evidence.

Pure; called by `slack.render` only. Everything shown comes from the cluster, logs or
labels, so it is escaped for mrkdwn and clipped to Slack's limits here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.model.cluster_evidence import EventsEvidence, LogsEvidence, PodsEvidence, PodState
from bot.model.evidence import Evidence
from bot.model.kserve_evidence import InferenceServiceEvidence
from bot.model.signal_evidence import DriftEvidence
from bot.slack.limits import MAX_TEXT, clip, clip_code
from bot.slack.mrkdwn import escape

MAX_LINES = 8  # per section: a message is a summary, the store keeps the rest
LOG_CHARS = 1200


def mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object clipped to Slack's section limit."""
    return {"type": "mrkdwn", "text": clip(text, MAX_TEXT)}


def section(title: str, lines: Iterable[str], *, code: str = "") -> dict[str, Any]:
    """A section: bold title, bullet lines, optional code; all escaped (`slack.mrkdwn`)."""
    items = [escape(line) for line in lines]
    shown = items[:MAX_LINES]
    if len(items) > MAX_LINES:
        shown.append(f"… and {len(items) - MAX_LINES} more")
    body = "\n".join(f"• {clip(line, 300)}" for line in shown)
    text = f"*{escape(title)}*" + (f"\n{body}" if body else "")
    if code:
        room = MAX_TEXT - len(text) - 1
        if room > 40:
            # Slack decodes entities inside code blocks too: a log line is escaped like any.
            text += "\n" + clip_code(escape(code), min(room, LOG_CHARS))
    return {"type": "section", "text": mrkdwn(text)}


def _pod_line(pod: PodState) -> str:
    restarts = sum(c.restart_count for c in pod.containers)
    parts = [f"{pod.name}: {pod.phase}", "ready" if pod.ready else "not ready"]
    if restarts:
        parts.append(f"{restarts} restarts")
    for c in pod.containers:
        if c.waiting_reason:
            parts.append(f"{c.name} waiting: {c.waiting_reason}")
        if c.last_terminated_reason:
            code = f" (exit {c.last_exit_code})" if c.last_exit_code is not None else ""
            parts.append(f"{c.name} last ended: {c.last_terminated_reason}{code}")
    return ", ".join(parts)


def _pods(ev: PodsEvidence) -> dict[str, Any]:
    ordered = sorted(ev.pods, key=lambda p: (p.ready, -sum(c.restart_count for c in p.containers)))
    return section(f"Pods ({len(ev.pods)})", [_pod_line(p) for p in ordered])


def _events(ev: EventsEvidence) -> dict[str, Any]:
    lines = [
        f"{e.reason} ×{e.count} on {e.object_kind}/{e.object_name}: {e.message}" for e in ev.events
    ]
    return section("Warning events", lines)


def _drift(ev: DriftEvidence) -> dict[str, Any]:
    drifted = [f for f in ev.features if f.drifted]
    lines = [
        f"{f.name}: {f.test} {f.statistic:.3g}, p={f.p_value:.2g}"
        + (f", effect {f.effect:.3g}" if f.effect is not None else "")
        for f in sorted(drifted, key=lambda f: f.p_value)
    ]
    head = f"{len(drifted)} of {len(ev.features)} features drifted ({ev.window_rows} rows)"
    if ev.accuracy is not None and ev.accuracy_baseline is not None:
        head += f"; accuracy {ev.accuracy:.3g} vs {ev.accuracy_baseline:.3g}"
    return section("Drifted features", [head, *lines])


def _rollout(ev: InferenceServiceEvidence) -> dict[str, Any]:
    state = {True: "ready", False: "not ready", None: "readiness unknown"}[ev.ready]
    lines = [f"{ev.namespace}/{ev.name} ({ev.deployment_mode}): {state}"]
    if ev.latest_ready_revision or ev.latest_created_revision:
        lines.append(
            f"latest created {ev.latest_created_revision or '?'},"
            f" latest ready {ev.latest_ready_revision or '?'}"
        )
    if ev.previous_rolledout_revision:
        lines.append(f"previous rolled out: {ev.previous_rolledout_revision}")
    if ev.canary_traffic_percent is not None:
        lines.append(f"canaryTrafficPercent: {ev.canary_traffic_percent}")
    if ev.traffic:
        split = ", ".join(f"{t.revision} {t.percent}%" for t in ev.traffic)
        lines.append(f"traffic: {split}")
    for r in ev.revisions[:3]:
        when = r.created_at.strftime("%Y-%m-%d %H:%M") if r.created_at else "?"
        lines.append(f"revision {r.name} ({when}) {r.storage_uri or r.image}")
    return section("Rollout", lines)


def _logs(ev: LogsEvidence) -> dict[str, Any]:
    worst = sorted(ev.excerpts, key=lambda x: (not x.has_traceback, -x.error_count))
    if not worst:
        return section("Logs", ["no error lines"])
    first = worst[0]
    which = "previous container" if first.previous else "current container"
    title = f"Logs: {first.pod}/{first.container} ({which}, {first.error_count} errors)"
    others = [f"{x.pod}/{x.container}: {x.error_count} errors" for x in worst[1:]]
    return section(title, others, code="\n".join(first.lines[-20:]))


def evidence_blocks(evidence: Iterable[Evidence]) -> list[dict[str, Any]]:
    """One section per evidence value, in the order given."""
    blocks = []
    for ev in evidence:
        if isinstance(ev, PodsEvidence):
            blocks.append(_pods(ev))
        elif isinstance(ev, EventsEvidence):
            if ev.events:
                blocks.append(_events(ev))
        elif isinstance(ev, DriftEvidence):
            blocks.append(_drift(ev))
        elif isinstance(ev, InferenceServiceEvidence):
            blocks.append(_rollout(ev))
        elif isinstance(ev, LogsEvidence):
            blocks.append(_logs(ev))
        elif ev.lines():
            blocks.append(section(ev.kind.replace("_", " ").capitalize(), ev.lines()))
    return blocks
