"""The verdict: pure rules from evidence to a category, a confidence and an action.

Called by the pipeline after the collectors. Each rule looks at typed evidence and
either returns a `Verdict` with the lines that carry it, or None; the most confident
rule wins and ties go to the earlier rule in `RULES`. The facts the rules share live in
`triage.signals`.

Confidence ranks explanations; it is not a probability: a container that was OOMKilled
(0.9) outranks a rollout whose new pods throw tracebacks (0.8), which outranks drifted
inputs while the pods are healthy (0.75). `Verdict.action_kind` is one of rollback,
retrain, raise-memory, fix-image, fix-config, fix-scheduling, investigate; `details`
carries machine-usable facts for the Slack buttons: `rollback_to`, `inference_service`,
`namespace`, `deployment_mode`, `bad_revision`, `container`, `pod`, `memory_limit`,
`suggested_memory_limit`, `image`, `model`, `drifted_features`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.alerts.models import Notification
from bot.triage.evidence import (
    RAW_MODES,
    DriftEvidence,
    Evidence,
    InferenceServiceEvidence,
    Target,
    Verdict,
)
from bot.triage.signals import (
    ROLLOUT_GRACE,
    ROLLOUT_WINDOW,
    error_lines,
    find,
    infrastructure_findings,
    minutes,
    per_pod,
    pods_healthy,
    recent_rollout,
    with_rollback,
)

Rule = Callable[[Target, Sequence[Evidence], Notification], Verdict | None]

ACCURACY_DROP = 0.05  # absolute fall below the baseline that counts as concept drift


def infrastructure(
    target: Target, evidence: Sequence[Evidence], notification: Notification
) -> Verdict | None:
    """OOMKilled, image pull, config, scheduling, eviction, mounts, memory at its limit."""
    findings = infrastructure_findings(evidence)
    if not findings:
        return None
    isvc = find(evidence, InferenceServiceEvidence)
    rollout = recent_rollout(isvc, notification.earliest_start())
    top = with_rollback(findings[0], rollout)
    lines = per_pod([(f.pod, f.line) for f in findings])[:5]
    if rollout:
        lines.append(rollout.line)
    return Verdict(
        category="infrastructure",
        confidence=top.confidence,
        summary=top.summary,
        reasons=tuple(lines),
        action=top.action,
        action_kind=top.action_kind,
        details=top.details,
    )


def rollout(
    target: Target, evidence: Sequence[Evidence], notification: Notification
) -> Verdict | None:
    """A new revision or spec change shortly before the alert, worse if it logs errors."""
    isvc = find(evidence, InferenceServiceEvidence)
    change = recent_rollout(isvc, notification.earliest_start())
    if change is None:
        return None
    confidence = 0.45
    lines = [change.line]
    errors = error_lines(evidence, change.revision)
    if errors:
        confidence += 0.3
        lines += errors[:3]
    healthy, health_line = pods_healthy(evidence)
    if healthy:
        confidence += 0.05
    lines.append(health_line)
    new = next((r for r in change.isvc.revisions if r.name == change.revision), None)
    if new is not None and new.ready is False:
        confidence += 0.05
        lines.append(f"revision {new.name} is not ready")
    for cond in change.isvc.conditions:
        if cond.type == "Ready" and cond.status == "False" and cond.message:
            lines.append(f"InferenceService not ready: {cond.message}")
    split = [t for t in change.isvc.traffic if t.percent and t.percent < 100]
    if split:
        lines.append("traffic split: " + ", ".join(f"{t.revision} {t.percent}%" for t in split))
    if change.rollback_to:
        if change.isvc.deployment_mode in RAW_MODES:
            how = "restore the previous predictor spec"
        else:
            how = "set canaryTrafficPercent: 0 so KServe sends all traffic to it"
        action = f"Roll back to {change.rollback_to}: {how}."
        kind = "rollback"
    else:
        action = f"Revert the last change to {change.isvc.name}; no earlier revision is known."
        kind = "investigate"
    return Verdict(
        category="rollout",
        confidence=round(min(confidence, 0.9), 2),
        summary=f"Bad rollout: {change.revision or change.isvc.name} went out before the alert",
        reasons=tuple(lines),
        action=action,
        action_kind=kind,
        details=change.details(),
    )


def _drifted(drift: DriftEvidence) -> list[str]:
    return [f.name for f in sorted(drift.features, key=lambda f: f.p_value) if f.drifted]


def data_drift(
    target: Target, evidence: Sequence[Evidence], notification: Notification
) -> Verdict | None:
    """Inputs drifted before the alert while the pods are healthy."""
    drift = find(evidence, DriftEvidence)
    if drift is None:
        return None
    names = _drifted(drift)
    if not (drift.dataset_drift or names):
        return None
    start = notification.earliest_start()
    confidence = 0.75
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    lines = [
        f"{len(names)} of {len(drift.features)} features drifted ({drift.drift_share:.0%}): {shown}"
    ]
    since = [f.drifted_since for f in drift.features if f.drifted and f.drifted_since]
    if since:
        first = min(since)
        if first <= start + ROLLOUT_GRACE:
            lines.append(f"drift began {minutes(start - first)} before the alert")
        else:
            confidence -= 0.3
            lines.append(f"drift began {minutes(first - start)} after the alert started")
    healthy, health_line = pods_healthy(evidence)
    lines.append(health_line)
    if healthy is False or infrastructure_findings(evidence):
        confidence -= 0.35
    if recent_rollout(find(evidence, InferenceServiceEvidence), start):
        confidence -= 0.2
    if drift.accuracy is not None and drift.accuracy_baseline is not None:
        lines.append(
            f"accuracy {drift.accuracy:.3g} against a baseline of {drift.accuracy_baseline:.3g}"
        )
    model = drift.model or target.model or ""
    return Verdict(
        category="data-drift",
        confidence=round(max(confidence, 0.1), 2),
        summary=f"Input data drifted for {model}" if model else "Input data drifted",
        reasons=tuple(lines),
        action=f"Check the upstream data for {shown}, then retrain {model or 'the model'}.",
        action_kind="retrain",
        details={"model": model, "drifted_features": ",".join(names)},
    )


def concept_drift(
    target: Target, evidence: Sequence[Evidence], notification: Notification
) -> Verdict | None:
    """Accuracy fell against the baseline while the inputs stayed stable."""
    drift = find(evidence, DriftEvidence)
    if drift is None or drift.accuracy is None or drift.accuracy_baseline is None:
        return None
    if drift.accuracy > drift.accuracy_baseline - ACCURACY_DROP:
        return None
    if drift.dataset_drift or _drifted(drift):
        return None
    healthy, health_line = pods_healthy(evidence)
    confidence = 0.7 if healthy is not False else 0.4
    model = drift.model or target.model or ""
    lines = [
        f"accuracy fell to {drift.accuracy:.3g} from a baseline of {drift.accuracy_baseline:.3g}",
        f"inputs stable: none of {len(drift.features)} features drifted",
        health_line,
    ]
    return Verdict(
        category="concept-drift",
        confidence=confidence,
        summary=f"The relation between inputs and labels changed for {model or 'the model'}",
        reasons=tuple(lines),
        action=f"Retrain {model or 'the model'} on recently labelled data.",
        action_kind="retrain",
        details={
            "model": model,
            "accuracy": f"{drift.accuracy:.4g}",
            "accuracy_baseline": f"{drift.accuracy_baseline:.4g}",
        },
    )


RULES: tuple[Rule, ...] = (infrastructure, rollout, data_drift, concept_drift)


def observations(evidence: Sequence[Evidence]) -> list[str]:
    """What was checked and looked fine, so an `unknown` verdict still says something."""
    out = []
    healthy, line = pods_healthy(evidence)
    if healthy is not None:
        out.append(line)
    if find(evidence, InferenceServiceEvidence):
        out.append(f"no revision or spec change in the {minutes(ROLLOUT_WINDOW)} before the alert")
    if find(evidence, DriftEvidence):
        out.append("no drifted features")
    return out


def unknown(target: Target, reasons: Sequence[str] = ()) -> Verdict:
    """The honest answer when no rule fits."""
    why = tuple(reasons) or (
        ("the alert labels name no workload to inspect",)
        if not target.names_workload
        else ("no rule matched the evidence gathered",)
    )
    return Verdict(
        category="unknown",
        confidence=0.0,
        summary="No clear cause found",
        reasons=why,
        action="Investigate by hand: open the alert's graph and the model's logs.",
        action_kind="investigate",
    )


def decide(target: Target, evidence: Sequence[Evidence], notification: Notification) -> Verdict:
    """The best-supported verdict for the evidence."""
    best: Verdict | None = None
    for rule in RULES:
        verdict = rule(target, evidence, notification)
        if verdict is not None and (best is None or verdict.confidence > best.confidence):
            best = verdict
    if best is not None:
        return best
    return unknown(target, observations(evidence) if target.names_workload else ())
