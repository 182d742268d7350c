"""The verdict: findings weighed by time and scope into one decision (pure).

Called by the pipeline after the collectors, through the `Decide` a `Diagnosis` provides.
Detectors (`detect_pods`, `detect_events`, `detect_kserve`, `detect_logs`,
`detect_signals`, `detect_data`) turn evidence into findings; this module weighs them
(`advice` then words the winner):

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

from bot.model.alert import Notification
from bot.model.cluster_evidence import (
    AutoscalerEvidence,
    EventsEvidence,
    LogsEvidence,
    NodesEvidence,
    PodsEvidence,
)
from bot.model.evidence import Evidence, Verdict
from bot.model.findings import Category, Finding, weight
from bot.model.kserve_evidence import InferenceServiceEvidence
from bot.model.signal_evidence import DriftEvidence, MetricsEvidence
from bot.model.target import Target
from bot.triage.advice import Candidate, considered, finding_verdict, rollout_verdict, unknown
from bot.triage.detect_data import alert_findings, drift_findings, is_load_alert
from bot.triage.detect_events import event_findings
from bot.triage.detect_kserve import isvc_findings
from bot.triage.detect_logs import log_findings
from bot.triage.detect_pods import RevisionOf, node_findings, pod_findings
from bot.triage.detect_signals import autoscaler_findings, metric_findings
from bot.triage.log_pattern import LogPattern
from bot.triage.log_patterns import CATALOGUE
from bot.triage.rollout import ROLLOUT_WINDOW, Change, recent_change
from bot.triage.verdict_text import about, health, unknown_reasons

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


def _rollout(
    change: Change | None, findings: Sequence[Finding], weights: dict[int, float]
) -> tuple[Candidate | None, set[int]]:
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
        # A change with nothing wrong in its scope is a suspect only while nothing else is.
        failing_elsewhere = any(
            f.revision != new and not f.recovered and f.category == "infrastructure"
            for f in findings
            if weights[id(f)] >= 0.25
        )
        return Candidate("rollout", 0.28 if failing_elsewhere else 0.45, None), set()
    top = max(confined, key=lambda f: weights[id(f)])
    score = min(0.95, 0.55 + 0.45 * weights[id(top)])
    return Candidate("rollout", score, top, tuple(confined)), {id(f) for f in confined}


def _best(
    category: Category, found: Sequence[Finding], weights: dict[int, float]
) -> Candidate | None:
    if not found:
        return None
    ranked = sorted(found, key=lambda f: -weights[id(f)])
    return Candidate(category, weights[id(ranked[0])], ranked[0], tuple(ranked))


def _candidates(
    findings: Sequence[Finding], change: Change | None, start: datetime
) -> list[Candidate]:
    weights = {id(f): weight(f, start) for f in findings}
    rollout, claimed = _rollout(change, findings, weights)
    free = [f for f in findings if id(f) not in claimed and weights[id(f)] > 0]
    infra = _best("infrastructure", [f for f in free if f.category == "infrastructure"], weights)
    data = _best("data-drift", [f for f in free if f.category == "data-drift"], weights)
    concept = _best("concept-drift", [f for f in free if f.category == "concept-drift"], weights)
    broken = infra is not None and infra.score >= 0.6
    if data is not None and broken and data.top and data.top.cause == "feature-drift":
        data = Candidate(data.category, data.score - 0.25, data.top, data.support)
    if concept is not None and (broken or (data is not None and data.score >= 0.5)):
        concept = Candidate(concept.category, concept.score - 0.2, concept.top, concept.support)
    found = [c for c in (rollout, infra, data, concept) if c is not None]
    return sorted(found, key=lambda c: (-round(c.score, 3), _ORDER.index(c.category)))


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
        reasons = unknown_reasons(evidence, weak, start, target.names_workload, ROLLOUT_WINDOW)
        return unknown(target, (*reasons, *about(notification)))
    winner = ranked[0]
    loser = next((c for c in ranked[1:] if c.top is not None), None)
    if winner.category == "rollout" and change is not None:
        verdict = rollout_verdict(winner, change, findings, evidence, start)
    elif winner.top is None:
        reasons = unknown_reasons(evidence, findings, start, target.names_workload, ROLLOUT_WINDOW)
        return unknown(target, (*reasons, *about(notification)))
    else:
        verdict = finding_verdict(winner, evidence, change, start)
    return replace(verdict, considered=considered(loser, start))


@dataclass(frozen=True)
class Diagnosis:
    """`decide` with the configured log patterns: what the pipeline calls."""

    patterns: tuple[LogPattern, ...] = field(default=CATALOGUE)

    def __call__(
        self, target: Target, evidence: Sequence[Evidence], notification: Notification
    ) -> Verdict:
        """The verdict, as `decide` gives it with these patterns."""
        return decide(target, evidence, notification, self.patterns)
