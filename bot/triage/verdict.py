"""The verdict: findings weighed by time and scope into one decision (pure).

Called by the pipeline after the collectors, through the `Decide` a `Diagnosis` provides.
Detectors (`detect_workload`, `detect_signals`) turn evidence into findings; this module
weighs them:

- **Time.** A failure that ended long before the alert, on a workload healthy since,
  weighs little and is said so (`findings.weight`).
- **Scope.** A failure confined to a revision created shortly before the alert, while an
  earlier revision can still serve, is that rollout's fault: `rollout`, with the failure's
  mechanism as the cause and a rollback to a revision checked to be ready and not failing.
- **Categories** compete by their strongest finding; the winner is shown with its top
  findings and the strongest finding of another category it beat (`considered`).

Confidence ranks explanations; it is not a probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

from bot.alerts.models import Notification
from bot.triage.detect_signals import (
    alert_findings,
    autoscaler_findings,
    drift_findings,
    is_load_alert,
    log_findings,
    metric_findings,
)
from bot.triage.detect_workload import (
    RevisionOf,
    event_findings,
    failing_revisions,
    isvc_findings,
    node_findings,
    pod_findings,
)
from bot.triage.evidence import (
    AutoscalerEvidence,
    DriftEvidence,
    EventsEvidence,
    Evidence,
    InferenceServiceEvidence,
    LogsEvidence,
    MetricsEvidence,
    NodesEvidence,
    PodsEvidence,
    Target,
    Verdict,
)
from bot.triage.findings import Finding, duration, weight
from bot.triage.log_patterns import CATALOGUE, LogPattern
from bot.triage.rollout import ROLLOUT_WINDOW, Change, recent_change, rollback_how, rollback_target
from bot.triage.verdict_text import finding_lines, health, unknown_reasons

E = TypeVar("E", bound=Evidence)

# Drift that began this soon around a rollout is the rollout's doing.
DRIFT_AFTER_ROLLOUT = (timedelta(minutes=2), timedelta(minutes=20))
MIN_SCORE = 0.3  # below this no category is claimed: `unknown`, with what was seen
_ORDER = ("rollout", "infrastructure", "data-drift", "concept-drift")  # ties go left


def find(evidence: Sequence[Evidence], kind: type[E]) -> E | None:
    """The first evidence of a kind."""
    return next((e for e in evidence if isinstance(e, kind)), None)


def detect(
    target: Target,
    evidence: Sequence[Evidence],
    notification: Notification,
    patterns: tuple[LogPattern, ...] = CATALOGUE,
) -> list[Finding]:
    """Every finding the evidence and the alert give, healed ones marked recovered."""
    start = notification.earliest_start()
    pods = find(evidence, PodsEvidence)
    isvc = find(evidence, InferenceServiceEvidence)
    revision_of = RevisionOf(pods, isvc)
    out: list[Finding] = []
    if pods is not None:
        out += pod_findings(pods, revision_of, patterns)
    if (events := find(evidence, EventsEvidence)) is not None:
        by_name = {pod.name: pod for pod in (pods.pods if pods else ())}
        out += event_findings(events, revision_of, start, by_name)
    if isvc is not None:
        out += isvc_findings(isvc, patterns)
    if (nodes := find(evidence, NodesEvidence)) is not None:
        out += node_findings(nodes, pods, revision_of)
    if (logs := find(evidence, LogsEvidence)) is not None:
        out += log_findings(logs, revision_of, patterns)
    if (metrics := find(evidence, MetricsEvidence)) is not None:
        out += metric_findings(metrics)
    if (scalers := find(evidence, AutoscalerEvidence)) is not None:
        load = is_load_alert(notification)
        out += [
            f if load else f.at(strength=f.strength * 0.6) for f in autoscaler_findings(scalers)
        ]
    if (drift := find(evidence, DriftEvidence)) is not None:
        out += drift_findings(drift, target.model or "", start)
    out += alert_findings(notification, target.model or "")
    healthy, _ = health(evidence)
    # An event that stopped before the alert, on pods that are all healthy now, is history.
    return [
        f.at(recovered=True) if healthy and f.ended is not None and f.ended < start else f
        for f in out
    ]


@dataclass(frozen=True)
class _Candidate:
    category: str
    score: float
    top: Finding | None
    support: tuple[Finding, ...] = ()


def _rollout(
    change: Change | None, findings: Sequence[Finding], weights: dict[int, float]
) -> tuple[_Candidate | None, set[int]]:
    """The rollout's case, and the findings it claims (confined to the new revision)."""
    if change is None:
        return None, set()
    new = change.revision
    scoped = [f for f in findings if new and f.revision == new and weights[id(f)] > 0]
    # Inputs that jumped right after the revision went out were changed by it (a transformer
    # that rescales a feature), not by the world: the rollout claims that drift.
    scoped += [
        f
        for f in findings
        if change.changed  # resources alone cannot change what callers send
        and f.cause == "feature-drift"
        and f.began is not None
        and change.at - DRIFT_AFTER_ROLLOUT[0] <= f.began <= change.at + DRIFT_AFTER_ROLLOUT[1]
    ]
    elsewhere = {
        f.cause
        for f in findings
        if f.revision and f.revision != new and not f.recovered and f.strength >= 0.45
    }
    confined = [f for f in scoped if f.cause not in elsewhere]
    if not confined:
        return _Candidate("rollout", 0.45, None), set()
    top = max(confined, key=lambda f: weights[id(f)])
    score = min(0.95, 0.55 + 0.45 * weights[id(top)])
    return _Candidate("rollout", score, top, tuple(confined)), {id(f) for f in confined}


def _best(category: str, found: Sequence[Finding], weights: dict[int, float]) -> _Candidate | None:
    if not found:
        return None
    ranked = sorted(found, key=lambda f: -weights[id(f)])
    return _Candidate(category, weights[id(ranked[0])], ranked[0], tuple(ranked))


def _candidates(
    findings: Sequence[Finding], change: Change | None, start: datetime
) -> list[_Candidate]:
    weights = {id(f): weight(f, start) for f in findings}
    rollout, claimed = _rollout(change, findings, weights)
    free = [f for f in findings if id(f) not in claimed and weights[id(f)] > 0]
    infra = _best("infrastructure", [f for f in free if f.category == "infrastructure"], weights)
    data = _best("data-drift", [f for f in free if f.category == "data-drift"], weights)
    concept = _best("concept-drift", [f for f in free if f.category == "concept-drift"], weights)
    broken = infra is not None and infra.score >= 0.6
    if data is not None and broken and data.top and data.top.cause == "feature-drift":
        data = _Candidate(data.category, data.score - 0.25, data.top, data.support)
    if concept is not None and (broken or (data is not None and data.score >= 0.5)):
        concept = _Candidate(concept.category, concept.score - 0.2, concept.top, concept.support)
    found = [c for c in (rollout, infra, data, concept) if c is not None]
    return sorted(found, key=lambda c: (-round(c.score, 3), _ORDER.index(c.category)))


def _considered(loser: _Candidate | None, start: datetime) -> tuple[str, ...]:
    """One line on the strongest explanation of another category, and why it lost."""
    if loser is None or loser.top is None:
        return ()
    f = loser.top
    why = f"{loser.category} ({f.cause}): {f.line}"
    if f.recovered and f.ended is not None:
        why += f"; it ended {duration(start - f.ended)} before the alert and was healthy since"
    else:
        why += f"; weaker ({loser.score:.2f})"
    return (f"also considered {why}",)


def _rollout_verdict(
    cand: _Candidate,
    change: Change,
    findings: Sequence[Finding],
    evidence: Sequence[Evidence],
    start: datetime,
) -> Verdict:
    isvc = change.isvc
    failing = failing_revisions(findings) | {change.revision}
    target, why_not = rollback_target(isvc, change.revision, failing)
    if change.pending:  # KServe kept the old revision serving: there is nothing to go back to
        target, why_not = "", "KServe did not roll it out: revert the spec change"
    lines = [change.line]
    if change.changed:
        lines.append("changed: " + "; ".join(change.changed))
    lines += finding_lines(cand.support, start, limit=4)
    lines.append(health(evidence)[1])
    split = [t for t in isvc.traffic if t.percent and t.percent < 100]
    if split:
        lines.append("traffic split: " + ", ".join(f"{t.revision} {t.percent}%" for t in split))
    details = {
        "inference_service": isvc.name,
        "namespace": isvc.namespace,
        "deployment_mode": isvc.deployment_mode,
        "bad_revision": change.revision,
    }
    top = cand.top
    cause = top.cause if top is not None else "code"
    if cause in ("input-schema", "feature-drift"):
        cause = "code"  # the new code reads the inputs differently: the data did not move
    what = f" ({top.summary[0].lower()}{top.summary[1:]})" if top is not None else ""
    summary = f"Bad rollout: {change.revision or isvc.name}{what}"
    if top is not None:
        details = {**top.details, **details}
    follow_up = ""
    if top is not None:
        data = top.category in ("data-drift", "concept-drift")
        fix = "it reads inputs differently from what callers send." if data else top.action
        follow_up = f" Then fix {change.revision or 'the new revision'}: {fix}"
    if target:
        details["rollback_to"] = target
        action = f"Roll back to {target}: {rollback_how(isvc)}.{follow_up}"
        kind = "rollback"
    else:
        lines.append(why_not)
        action = f"Revert the last change to {isvc.name} ({why_not}).{follow_up}"
        kind = "investigate"
    return Verdict(
        category="rollout",
        confidence=round(cand.score, 2),
        summary=summary,
        reasons=tuple(lines),
        action=action,
        action_kind=kind,
        details=details,
        cause=cause,
    )


def _finding_verdict(
    cand: _Candidate, evidence: Sequence[Evidence], change: Change | None, start: datetime
) -> Verdict:
    top = cand.top
    assert top is not None  # a non-rollout candidate always has its finding
    lines = finding_lines(cand.support, start)
    healthy, health_line = health(evidence)
    if healthy is not None:
        lines.append(health_line)
    if change is not None:
        lines.append(f"{change.line}, but the failure is not confined to it")
    details = dict(top.details)
    if top.pod:
        details.setdefault("pod", top.pod)
    if top.container:
        details.setdefault("container", top.container)
    return Verdict(
        category=cand.category,
        confidence=round(cand.score, 2),
        summary=top.summary,
        reasons=tuple(lines),
        action=top.action,
        action_kind=top.action_kind,
        details=details,
        cause=top.cause,
    )


def unknown(target: Target, reasons: Sequence[str] = ()) -> Verdict:
    """The honest answer when nothing reaches a verdict: what was seen and what was not."""
    what = f" for {target.describe()}" if target.names_workload or target.model else ""
    return Verdict(
        category="unknown",
        confidence=0.0,
        summary=f"No clear cause found{what}",
        reasons=tuple(reasons) or ("the alert labels name no workload to inspect",),
        action="Investigate by hand: open the alert's graph and the model's logs.",
        action_kind="investigate",
        cause="unknown",
    )


def decide(
    target: Target,
    evidence: Sequence[Evidence],
    notification: Notification,
    patterns: tuple[LogPattern, ...] = CATALOGUE,
) -> Verdict:
    """The best-supported verdict for the evidence and the alert."""
    start = notification.earliest_start()
    findings = detect(target, evidence, notification, patterns)
    change = recent_change(find(evidence, InferenceServiceEvidence), start)
    ranked = _candidates(findings, change, start)
    if not ranked or ranked[0].score < MIN_SCORE:
        weak = sorted(findings, key=lambda f: -f.strength)
        return unknown(
            target, unknown_reasons(evidence, weak, start, target.names_workload, ROLLOUT_WINDOW)
        )
    winner = ranked[0]
    loser = next((c for c in ranked[1:] if c.top is not None), None)
    if winner.category == "rollout" and change is not None:
        verdict = _rollout_verdict(winner, change, findings, evidence, start)
    elif winner.top is None:
        return unknown(
            target,
            unknown_reasons(evidence, findings, start, target.names_workload, ROLLOUT_WINDOW),
        )
    else:
        verdict = _finding_verdict(winner, evidence, change, start)
    return replace(verdict, considered=_considered(loser, start))


@dataclass(frozen=True)
class Diagnosis:
    """`decide` with the configured log patterns: what the pipeline calls."""

    patterns: tuple[LogPattern, ...] = field(default=CATALOGUE)

    def __call__(
        self, target: Target, evidence: Sequence[Evidence], notification: Notification
    ) -> Verdict:
        """The verdict, as `decide` gives it with these patterns."""
        return decide(target, evidence, notification, self.patterns)
