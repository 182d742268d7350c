"""The winning explanation turned into a `Verdict`, its advice checked against the evidence.

Called by `triage.verdict` (pure). A rollout's advice rolls back only to a revision that
exists, is ready and shows no ongoing failure (`rollout.rollback_target`), and reverts a
spec KServe refused instead; other verdicts carry their finding's action and the pod or
container it is about. `considered` says which explanation of another category lost, and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.model.evidence import Evidence, Verdict
from bot.model.findings import ActionKind, Category, Finding, duration
from bot.model.target import Target
from bot.triage.detect_pods import failing_revisions
from bot.triage.rollout import Change, rollback_how, rollback_target
from bot.triage.verdict_text import finding_lines, health


@dataclass(frozen=True)
class Candidate:
    category: Category
    score: float
    top: Finding | None
    support: tuple[Finding, ...] = ()


def considered(loser: Candidate | None, start: datetime) -> tuple[str, ...]:
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


def rollout_verdict(
    cand: Candidate,
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
        kind: ActionKind = "rollback"
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


def finding_verdict(
    cand: Candidate, evidence: Sequence[Evidence], change: Change | None, start: datetime
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
