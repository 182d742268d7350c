"""Findings: what the evidence says went wrong, where, when and how strongly (pure).

Detectors (`triage.detect_pods`, `detect_events`, `detect_kserve`, `detect_signals`)
turn typed evidence into findings; `triage.verdict` weighs them by time and scope. A
finding names its mechanism (`cause`), the category it points to on its own (`category`:
a rollout can still claim a failure confined to a new revision), where it happened (pod,
container, node, revision), when it began and whether it is still going on, and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

Category = Literal["infrastructure", "rollout", "data-drift", "concept-drift", "unknown"]
Cause = Literal[
    "oom",
    "image-pull",
    "config",
    "mount",
    "scheduling",
    "eviction",
    "node",
    "capacity",
    "dependency",
    "gpu-memory",
    "storage",
    "model-load",
    "probe",
    "crash",
    "code",
    "input-schema",
    "feature-drift",
    "accuracy-drop",
    "unknown",
]
ActionKind = Literal[
    "rollback",
    "retrain",
    "raise-memory",
    "raise-capacity",
    "fix-image",
    "fix-config",
    "fix-scheduling",
    "fix-dependency",
    "fix-data",
    "investigate",
]

# A failure that ended this long before the alert, on a workload healthy since, is history.
RECOVERED_AFTER = timedelta(minutes=30)
LATE = timedelta(minutes=5)  # the alert's start is approximate (its `for:` clause)


@dataclass(frozen=True)
class Finding:
    """One thing that went wrong, with where and when."""

    cause: Cause
    category: Category
    strength: float  # 0..1: how surely this alone explains a failing model
    summary: str  # the headline, e.g. "The model container runs out of memory (OOMKilled)"
    line: str  # the evidence line that shows it
    action: str
    action_kind: ActionKind = "investigate"
    pod: str = ""
    container: str = ""
    revision: str = ""  # the revision the failing object belongs to, when known
    node: str = ""
    began: datetime | None = None
    ended: datetime | None = None  # None: still going on (or unknown)
    recovered: bool = False  # the object has been healthy since `ended`
    details: dict[str, str] = field(default_factory=dict)

    def at(self, **where: Any) -> Finding:
        """The same finding placed on a pod, container or revision, or timed."""
        return replace(self, **where)


def weight(finding: Finding, alert_start: datetime) -> float:
    """The finding's strength, discounted when it ended long before the alert and recovered."""
    ended = finding.ended
    if finding.recovered and ended is not None and ended < alert_start - RECOVERED_AFTER:
        return round(finding.strength * 0.15, 3)
    drift = finding.category in ("data-drift", "concept-drift")
    if drift and finding.began is not None and finding.began > alert_start + LATE:
        return round(finding.strength * 0.6, 3)  # drift that began after the alert: not its cause
    return finding.strength


def format_bytes(value: float) -> str:
    """Bytes in Kubernetes binary units: `512Mi`, `1.5Gi`."""
    for unit, size in (("Gi", 2.0**30), ("Mi", 2.0**20), ("Ki", 2.0**10)):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.0f}"


def suggest_memory(limit: float) -> float:
    """Double the limit, rounded up to a whole 256Mi, so the suggestion reads cleanly."""
    step = 256 * 2.0**20
    return float(-(-(limit * 2) // step) * step)


def duration(delta: timedelta) -> str:
    """`8 minutes`, `1 minute`, `2 hours`, `3 days`: how a person says a duration."""
    total = int(abs(delta.total_seconds()) // 60)
    if total >= 2 * 24 * 60:
        return f"{total // (24 * 60)} days"
    if total >= 120:
        return f"{total // 60} hours"
    return "1 minute" if total == 1 else f"{total} minutes"


def when(at: datetime | None, start: datetime) -> str:
    """` 8 minutes before the alert` / ` 2 hours after the alert started`, or ""."""
    if at is None:
        return ""
    if at <= start:
        return f" {duration(start - at)} before the alert"
    return f" {duration(at - start)} after the alert started"
