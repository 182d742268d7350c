"""Facts the verdict rules share, read from typed evidence: pure functions.

Called only by `triage.verdict`: which infrastructure problems the pods, events and
metrics show, whether a revision rolled out shortly before the alert and where to roll
back to, whether the pods are healthy, and what the logs of a revision say.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

from bot.triage.evidence import (
    ContainerState,
    EventsEvidence,
    Evidence,
    InferenceServiceEvidence,
    LogsEvidence,
    MetricsEvidence,
    PodsEvidence,
    PodState,
    Revision,
)

E = TypeVar("E", bound=Evidence)

ROLLOUT_WINDOW = timedelta(minutes=60)  # a change this long before the alert is "recent"
ROLLOUT_GRACE = timedelta(minutes=5)  # alert start is approximate (the `for:` clause)
MEMORY_NEAR_LIMIT = 0.9

_PULL = {"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"}
_CONFIG = {"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}
_PRESSURE = {"Evicted", "EvictionThresholdMet", "NodeHasDiskPressure", "NodeHasMemoryPressure"}
_IMAGE = re.compile(r'image "([^"]+)"')

OOM = "The model container runs out of memory (OOMKilled)"
UNSCHEDULABLE = "Model pods cannot be scheduled"
EVICTED = "Model pods are evicted (node pressure)"
_FREE_CAPACITY = "Free capacity or lower the pod's requests; see the scheduler's message."
_NODE_ROOM = "Give the node room or move the model: check the node's memory and disk."


def find(evidence: Sequence[Evidence], kind: type[E]) -> E | None:
    """The first evidence of a kind."""
    return next((e for e in evidence if isinstance(e, kind)), None)


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


def minutes(delta: timedelta) -> str:
    """`8 minutes`, `1 minute`, `2 hours`: how a person says a duration."""
    total = int(abs(delta.total_seconds()) // 60)
    if total >= 120:
        return f"{total // 60} hours"
    return "1 minute" if total == 1 else f"{total} minutes"


@dataclass(frozen=True)
class Finding:
    """One infrastructure problem: how strong, the line that says it, what to do."""

    confidence: float
    summary: str
    line: str
    action: str
    action_kind: str
    details: dict[str, str] = field(default_factory=dict)
    pod: str = ""  # the pod the line is about, so the same problem in many pods reads once


def per_pod(items: Sequence[tuple[str, str]]) -> list[str]:
    """(pod, line) pairs as lines, the same line from several pods merged into one."""
    pods: dict[str, list[str]] = {}
    for pod, line in items:
        pods.setdefault(line, [])
        if pod and pod not in pods[line]:
            pods[line].append(pod)
    out = []
    for line, names in pods.items():
        if not names:
            out.append(line)
        elif len(names) == 1:
            out.append(f"pod {names[0]}: {line}")
        else:
            more = f" and {len(names) - 2} more" if len(names) > 2 else ""
            out.append(f"{len(names)} pods ({', '.join(names[:2])}{more}): {line}")
    return out


@dataclass(frozen=True)
class Rollout:
    """A revision (or spec change) shortly before the alert and where to roll back to."""

    revision: str
    line: str
    rollback_to: str
    isvc: InferenceServiceEvidence

    def details(self) -> dict[str, str]:
        """What a rollback button needs."""
        out = {
            "inference_service": self.isvc.name,
            "namespace": self.isvc.namespace,
            "deployment_mode": self.isvc.deployment_mode,
            "bad_revision": self.revision,
        }
        if self.rollback_to:
            out["rollback_to"] = self.rollback_to
        return out


def recent_rollout(isvc: InferenceServiceEvidence | None, start: datetime) -> Rollout | None:
    """The newest revision (else spec change) within `ROLLOUT_WINDOW` before the alert."""
    if isvc is None:
        return None
    lo, hi = start - ROLLOUT_WINDOW, start + ROLLOUT_GRACE
    recent = [r for r in isvc.revisions if r.created_at and lo <= r.created_at <= hi]
    if recent:
        newest = max(recent, key=lambda r: r.created_at or start)
        line = _when(f"revision {newest.name} rolled out", newest.created_at or start, start)
        return Rollout(newest.name, line, _rollback_target(isvc, newest), isvc)
    changed = isvc.spec_changed_at
    if changed and lo <= changed <= hi:
        line = _when(f"the spec of {isvc.name} changed", changed, start)
        revision = isvc.latest_created_revision
        previous = isvc.previous_rolledout_revision
        return Rollout(revision, line, previous if previous != revision else "", isvc)
    return None


def _when(what: str, at: datetime, start: datetime) -> str:
    if at <= start:
        return f"{what} {minutes(start - at)} before the alert"
    return f"{what} {minutes(at - start)} after the alert started"


def _rollback_target(isvc: InferenceServiceEvidence, new: Revision) -> str:
    previous = isvc.previous_rolledout_revision
    if previous and previous != new.name:
        return previous
    created = new.created_at
    older = [r for r in isvc.revisions if r.created_at and created and r.created_at < created]
    return older[-1].name if older else ""


def with_rollback(finding: Finding, rollout: Rollout | None) -> Finding:
    """The finding, its action and details extended with the rollback target."""
    if rollout is None:
        return finding
    action = finding.action
    if rollout.rollback_to:
        action += f" Until then, roll back to {rollout.rollback_to}."
    return replace(finding, action=action, details={**rollout.details(), **finding.details})


def _memory_finding(
    confidence: float, summary: str, line: str, container: str, limit_bytes: float | None
) -> Finding:
    details = {"container": container}
    if not limit_bytes:
        action = f"Set a memory limit and request for {container} that fits the model."
        return Finding(confidence, summary, line, action, "raise-memory", details)
    limit = format_bytes(limit_bytes)
    suggested = format_bytes(suggest_memory(limit_bytes))
    details |= {"memory_limit": limit, "suggested_memory_limit": suggested}
    action = (
        f"Raise the memory limit of {container} from {limit} to {suggested}, "
        "or find what grew (model size, batch size)."
    )
    return Finding(confidence, summary, line, action, "raise-memory", details)


def _container_findings(pod: PodState, c: ContainerState) -> list[Finding]:
    where = f"container {c.name}"
    out = []
    if c.last_terminated_reason == "OOMKilled":
        limit = f"; limit {format_bytes(c.memory_limit_bytes)}" if c.memory_limit_bytes else ""
        line = f"{where} OOMKilled (exit {c.last_exit_code}), {c.restart_count} restarts{limit}"
        found = _memory_finding(0.9, OOM, line, c.name, c.memory_limit_bytes)
        out.append(replace(found, details={**found.details, "pod": pod.name}))
    if c.waiting_reason in _PULL:
        match = _IMAGE.search(c.waiting_message)
        image = match.group(1) if match else ""
        line = f"{where} cannot pull its image {image}: {c.waiting_reason}".replace("  ", " ")
        action = f"Fix the image reference {image} (tag, registry, pull secret).".replace("  ", " ")
        details = {"container": c.name, "image": image}
        out.append(
            Finding(0.95, "The model image cannot be pulled", line, action, "fix-image", details)
        )
    elif c.waiting_reason in _CONFIG:
        line = f"{where}: {c.waiting_reason}" + (
            f": {c.waiting_message}" if c.waiting_message else ""
        )
        action = "Create or fix the Secret or ConfigMap the container refers to."
        summary = "The model container cannot start: its configuration is missing"
        out.append(Finding(0.9, summary, line, action, "fix-config", {"container": c.name}))
    elif c.waiting_reason == "CrashLoopBackOff" and c.last_terminated_reason != "OOMKilled":
        code = c.last_exit_code
        ended = f", last exit code {code} ({c.last_terminated_reason})" if code is not None else ""
        line = f"{where} is in CrashLoopBackOff, {c.restart_count} restarts{ended}"
        action = f"Read the crash log of {c.name} (previous instance) and fix the cause."
        summary = "The model container crash-loops"
        out.append(Finding(0.6, summary, line, action, "investigate", {"container": c.name}))
    return out


def _pod_findings(pod: PodState) -> list[Finding]:
    out = [f for c in pod.containers for f in _container_findings(pod, c)]
    if pod.reason == "Evicted":
        line = "evicted" + (f": {pod.message}" if pod.message else "")
        out.append(Finding(0.8, EVICTED, line, _NODE_ROOM, "investigate"))
    for cond in pod.conditions:
        if cond.type == "PodScheduled" and cond.status == "False":
            line = f"cannot be scheduled: {cond.message or cond.reason}"
            out.append(Finding(0.85, UNSCHEDULABLE, line, _FREE_CAPACITY, "fix-scheduling"))
    return [replace(f, pod=pod.name) for f in out]


def _event_findings(events: EventsEvidence) -> list[Finding]:
    out = []
    for ev in events.events:
        about = f"{ev.object_kind.lower() or 'object'} {ev.object_name}"
        line = f"{ev.reason} on {about} (x{ev.count}): {ev.message}"
        if ev.reason == "FailedScheduling":
            out.append(Finding(0.85, UNSCHEDULABLE, line, _FREE_CAPACITY, "fix-scheduling"))
        elif ev.reason in ("FailedMount", "FailedAttachVolume"):
            action = "Fix the volume, Secret or ConfigMap named in the event."
            summary = "A volume of the model pods cannot be mounted"
            out.append(Finding(0.8, summary, line, action, "fix-config"))
        elif ev.reason in _PRESSURE:
            out.append(Finding(0.75, EVICTED, line, _NODE_ROOM, "investigate"))
        elif ev.reason == "Unhealthy":
            action = "Check the probe against the model's startup and response times."
            summary = "Model pods fail their health probes"
            out.append(Finding(0.5, summary, line, action, "investigate"))
        elif ev.reason == "OOMKilling":
            action = "Raise the memory limit of the model container."
            out.append(Finding(0.85, OOM, line, action, "raise-memory"))
    return out


def _metric_findings(metrics: MetricsEvidence) -> list[Finding]:
    out = []
    for use in metrics.resources:
        if use.memory_bytes is None or not use.memory_limit_bytes:
            continue
        share = use.memory_bytes / use.memory_limit_bytes
        if share >= MEMORY_NEAR_LIMIT:
            limit = format_bytes(use.memory_limit_bytes)
            line = f"{use.pod}/{use.container} used {share:.0%} of its {limit} memory limit"
            summary = "The model container is at its memory limit"
            limit_bytes = int(use.memory_limit_bytes)  # whole bytes, as a pod spec has them
            out.append(_memory_finding(0.65, summary, line, use.container, limit_bytes))
    return out


def infrastructure_findings(evidence: Sequence[Evidence]) -> list[Finding]:
    """Every infrastructure problem the pods, events and metrics show, strongest first."""
    found: list[Finding] = []
    pods = find(evidence, PodsEvidence)
    events = find(evidence, EventsEvidence)
    metrics = find(evidence, MetricsEvidence)
    for pod in pods.pods if pods else ():
        found += _pod_findings(pod)
    found += _event_findings(events) if events else []
    found += _metric_findings(metrics) if metrics else []
    return sorted(found, key=lambda f: -f.confidence)


def pods_healthy(evidence: Sequence[Evidence]) -> tuple[bool | None, str]:
    """Whether every pod is ready with nothing waiting, and the line that says so."""
    pods = find(evidence, PodsEvidence)
    if pods is None or not pods.pods:
        return None, "no pods seen"
    total = len(pods.pods)
    ready = sum(1 for p in pods.pods if p.ready)
    waiting = sorted(
        {c.waiting_reason for p in pods.pods for c in p.containers if c.waiting_reason}
    )
    if ready == total and not waiting:
        return True, f"pods healthy: {ready}/{total} ready"
    return False, f"pods unhealthy: {ready}/{total} ready" + "".join(f", {w}" for w in waiting)


def error_lines(evidence: Sequence[Evidence], revision: str) -> list[str]:
    """Log lines of the pods of `revision` (all pods when none is named after it)."""
    logs = find(evidence, LogsEvidence)
    excerpts = [x for x in (logs.excerpts if logs else ()) if x.lines]
    own = [x for x in excerpts if revision and x.pod.startswith(f"{revision}-")]
    out = []
    for x in own or excerpts:
        first = next((line for line in x.lines if "(traceback" in line), x.lines[0])
        out.append((x.pod, f"{'traceback' if x.has_traceback else 'error'} in the log: {first}"))
    return per_pod(out)
