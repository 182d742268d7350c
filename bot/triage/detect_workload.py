"""Detectors over the workload: pods, containers, events, the InferenceService, revisions.

Called by `triage.verdict` through `detect`; pure functions from typed evidence to
`Finding`s, each placed on its pod, container and revision and timed where the evidence
says when. Messages written by the workload itself (termination messages, condition
messages) go through the log-pattern catalogue too, since Knative and KServe copy the
model's last words there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bot.triage.evidence import (
    ContainerState,
    EventsEvidence,
    InferenceServiceEvidence,
    NodesEvidence,
    PodsEvidence,
    PodState,
)
from bot.triage.findings import Cause, Finding, format_bytes, suggest_memory
from bot.triage.log_patterns import LogPattern, match_line
from bot.triage.rollout import pending_spec

_PULL = {"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"}
_CONFIG = {"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}
_PRESSURE = {"Evicted", "EvictionThresholdMet", "NodeHasDiskPressure", "NodeHasMemoryPressure"}
_IMAGE = re.compile(r'image "([^"]+)"')
_REVISION = re.compile(r'[Rr]evision "?([a-z0-9][a-z0-9.-]*-\d{5})"?')

OOM = "The model container runs out of memory (OOMKilled)"
# Exit codes 128+n: the signal that ended the process says much of why.
_SIGNALS = {
    132: "SIGILL: illegal instruction, the binary needs a CPU feature this node lacks",
    134: "SIGABRT: the process aborted itself",
    135: "SIGBUS: bus error",
    136: "SIGFPE: arithmetic error",
    139: "SIGSEGV: segmentation fault in native code",
}
UNSCHEDULABLE = "Model pods cannot be scheduled"
EVICTED = "Model pods are evicted (node pressure)"
_FREE_CAPACITY = "Free capacity or lower the pod's requests; see the scheduler's message."
_NODE_ROOM = "Give the node room or move the model: check the node's memory and disk."
_READ_CRASH = "Read the crash log of {c} (previous instance) and fix the cause."


def memory_finding(
    strength: float, summary: str, line: str, container: str, limit: float | None
) -> Finding:
    """An out-of-memory finding with the limit and a suggested one."""
    details = {"container": container}
    if not limit:
        action = f"Set a memory limit and request for {container} that fits the model."
        return Finding(
            "oom",
            "infrastructure",
            strength,
            summary,
            line,
            action,
            "raise-memory",
            details=details,
        )
    now, suggested = format_bytes(limit), format_bytes(suggest_memory(limit))
    details |= {"memory_limit": now, "suggested_memory_limit": suggested}
    action = (
        f"Raise the memory limit of {container} from {now} to {suggested}, "
        "or find what grew (model size, batch size)."
    )
    return Finding(
        "oom", "infrastructure", strength, summary, line, action, "raise-memory", details=details
    )


def from_message(
    message: str, line: str, patterns: tuple[LogPattern, ...], fallback: Finding
) -> Finding:
    """What a workload's own message names, via the catalogue; else the fallback."""
    found = match_line(message, patterns) if message else None
    if found is None:
        return fallback
    known, match = found
    summary, action = known.describe(match)
    return Finding(
        known.cause, known.category, known.strength, summary, line, action, known.action_kind
    )


def _clip(text: str, size: int = 400) -> str:
    """One line of at most `size` characters; a long one keeps its end, where causes are."""
    text = " ".join(text.split())
    if len(text) <= size:
        return text
    head = size // 3
    return f"{text[:head]} … {text[-(size - head - 3) :]}"


def _container(pod: PodState, c: ContainerState, patterns: tuple[LogPattern, ...]) -> list[Finding]:
    where = f"{'init container' if c.init else 'container'} {c.name}"
    healthy_since = c.ready and c.running_since is not None and not c.waiting_reason
    ended, out = c.last_terminated_at, []
    said = f": {_clip(c.last_terminated_message)}" if c.last_terminated_message else ""
    if c.last_terminated_reason == "OOMKilled":
        limit = f"; limit {format_bytes(c.memory_limit_bytes)}" if c.memory_limit_bytes else ""
        line = f"{where} OOMKilled (exit {c.last_exit_code}), {c.restart_count} restarts{limit}"
        found = memory_finding(0.9, OOM, line, c.name, c.memory_limit_bytes)
        out.append(found.at(began=ended, ended=ended, recovered=healthy_since))
    elif c.waiting_reason in _PULL:
        match = _IMAGE.search(c.waiting_message)
        image = match.group(1) if match else c.image
        line = f"{where} cannot pull its image {image}: {c.waiting_reason}"
        if c.waiting_message:
            line += f" ({_clip(c.waiting_message, 160)})"
        action = f"Fix the image reference {image} (tag, registry, pull secret)."
        out.append(
            Finding(
                "image-pull",
                "infrastructure",
                0.95,
                "The model image cannot be pulled",
                line,
                action,
                "fix-image",
                details={"container": c.name, "image": image},
            )
        )
    elif c.waiting_reason in _CONFIG:
        line = f"{where}: {c.waiting_reason}" + (
            f": {_clip(c.waiting_message)}" if c.waiting_message else ""
        )
        action = "Create or fix the Secret or ConfigMap the container refers to."
        summary = "The model container cannot start: its configuration is missing"
        out.append(
            Finding(
                "config",
                "infrastructure",
                0.9,
                summary,
                line,
                action,
                "fix-config",
                details={"container": c.name},
            )
        )
    elif c.init and (
        c.restart_count or (c.last_exit_code or 0) != 0 or c.waiting_reason == "CrashLoopBackOff"
    ):
        line = f"{where} failed (exit {c.last_exit_code}, {c.restart_count} restarts){said}"
        storage = "storage" in c.name or "initializer" in c.name
        fallback = Finding(
            "storage" if storage else "crash",
            "infrastructure",
            0.85 if storage else 0.6,
            "The model cannot be downloaded from its storage"
            if storage
            else f"Init container {c.name} fails",
            line,
            "Check the storageUri and the storage credentials."
            if storage
            else f"Read the log of {c.name}.",
            "fix-config" if storage else "investigate",
        )
        found = from_message(c.last_terminated_message, line, patterns, fallback)
        out.append(found.at(ended=ended, recovered=healthy_since))
    elif c.waiting_reason == "CrashLoopBackOff" or (c.restart_count and c.last_terminated_reason):
        code = c.last_exit_code
        signal = f"; {_SIGNALS[code]}" if code in _SIGNALS else ""
        ended_with = (
            f", last exit code {code} ({c.last_terminated_reason}{signal})"
            if code is not None
            else ""
        )
        state = "is in CrashLoopBackOff" if c.waiting_reason == "CrashLoopBackOff" else "restarted"
        line = f"{where} {state}, {c.restart_count} restarts{ended_with}{said}"
        strength = 0.6 if c.waiting_reason == "CrashLoopBackOff" else 0.45
        fallback = Finding(
            "crash",
            "infrastructure",
            strength,
            "The model container crash-loops",
            line,
            _READ_CRASH.format(c=c.name),
            details={"container": c.name},
        )
        found = from_message(c.last_terminated_message, line, patterns, fallback)
        out.append(found.at(ended=ended, recovered=healthy_since))
    return [f.at(pod=pod.name, container=c.name, revision=pod.revision, node=pod.node) for f in out]


def pod_findings(
    pods: PodsEvidence, revision_of: RevisionOf, patterns: tuple[LogPattern, ...]
) -> list[Finding]:
    """Every problem the pods show, placed on their revision."""
    out: list[Finding] = []
    for pod in pods.pods:
        pod = replace(pod, revision=revision_of(pod.name))
        for c in pod.containers:
            out += _container(pod, c, patterns)
        if pod.reason == "Evicted":
            line = "evicted" + (f": {_clip(pod.message)}" if pod.message else "")
            out.append(
                Finding("eviction", "infrastructure", 0.8, EVICTED, line, _NODE_ROOM).at(
                    pod=pod.name, revision=pod.revision, node=pod.node
                )
            )
        for cond in pod.conditions:
            lost = cond.type == "DisruptionTarget" and cond.status == "True"
            if (lost and cond.reason == "DeletionByTaintManager") or pod.reason == "NodeLost":
                line = f"node {pod.node or '?'} unreachable: {cond.message or pod.message}"
                found = Finding(
                    "node",
                    "infrastructure",
                    0.75,
                    "The model's node is not ready (its pods are being evicted)",
                    line,
                    f"Check or remove node {pod.node or '?'}; its pods are rescheduled elsewhere.",
                )
                out.append(found.at(pod=pod.name, revision=pod.revision, node=pod.node))
            if cond.type == "PodScheduled" and cond.status == "False":
                line = f"cannot be scheduled: {_clip(cond.message or cond.reason)}"
                found = Finding(
                    "scheduling",
                    "infrastructure",
                    0.85,
                    UNSCHEDULABLE,
                    line,
                    _FREE_CAPACITY,
                    "fix-scheduling",
                )
                out.append(found.at(pod=pod.name, revision=pod.revision, began=cond.since))
    return out


def event_findings(
    events: EventsEvidence,
    revision_of: RevisionOf,
    start: datetime,
    pods: dict[str, PodState] | None = None,
) -> list[Finding]:
    """Problems the warning events name, placed on the object's revision."""
    out = []
    known = pods or {}
    for ev in events.events:
        pod = known.get(ev.object_name) if ev.object_kind == "Pod" else None
        about = f"{ev.object_kind.lower() or 'object'} {ev.object_name}"
        line = f"{ev.reason} on {about} (x{ev.count}): {_clip(ev.message)}"
        message = ev.message.lower()
        found: Finding | None = None
        if ev.reason == "FailedScheduling":
            found = Finding(
                "scheduling",
                "infrastructure",
                0.85,
                UNSCHEDULABLE,
                line,
                _FREE_CAPACITY,
                "fix-scheduling",
            )
        elif ev.reason in ("FailedMount", "FailedAttachVolume"):
            if pod is not None and pod.claims:
                line += f" (PVC {', '.join(pod.claims)})"
            found = Finding(
                "mount",
                "infrastructure",
                0.8,
                "A volume of the model pods cannot be mounted",
                line,
                "Fix the volume, Secret or ConfigMap named in the event.",
                "fix-config",
            )
        elif ev.reason in _PRESSURE:
            found = Finding("eviction", "infrastructure", 0.75, EVICTED, line, _NODE_ROOM)
        elif ev.reason in ("NodeNotReady", "NodeNotSchedulable") or "node is not ready" in message:
            found = Finding(
                "node",
                "infrastructure",
                0.75,
                "The model's node is not ready",
                line,
                "Check the node's kubelet and conditions; move the pods.",
            )
        elif ev.reason == "Unhealthy":
            probes = "; ".join(c.probes for c in pod.containers if c.probes) if pod else ""
            if probes:
                line += f" [{probes}]"
            found = Finding(
                "probe",
                "infrastructure",
                0.5,
                "Model pods fail their health probes",
                line,
                "Check the probe against the model's startup and response times.",
            )
            if "liveness" in message:  # the kubelet restarts what fails it: a kill loop
                found = Finding(
                    "probe",
                    "infrastructure",
                    0.65,
                    "The liveness probe kills the model container before it answers",
                    line,
                    "Give the model time to load: a startupProbe, or a longer "
                    "initialDelaySeconds / failureThreshold on the liveness probe.",
                    "fix-config",
                )
        elif ev.reason == "OOMKilling":
            found = Finding(
                "oom",
                "infrastructure",
                0.85,
                OOM,
                line,
                "Raise the memory limit of the model container.",
                "raise-memory",
            )
        elif ev.reason in ("Failed", "BackOff") and ("pull" in message or "image" in message):
            found = Finding(
                "image-pull",
                "infrastructure",
                0.85,
                "The model image cannot be pulled",
                line,
                "Fix the image reference (tag, registry, pull secret).",
                "fix-image",
            )
        elif ev.reason == "FailedCreate" and ("quota" in message or "forbidden" in message):
            found = Finding(
                "scheduling",
                "infrastructure",
                0.8,
                "Model pods cannot be created",
                line,
                "Raise the namespace's quota or lower the pods' requests.",
                "fix-scheduling",
            )
        if found is None:
            continue
        revision = revision_of(ev.object_name)
        if not revision and ev.object_kind in ("Revision", "ReplicaSet"):
            revision = ev.object_name
        stale = ev.last_seen is not None and ev.last_seen < start
        out.append(
            found.at(
                node=pod.node if pod is not None else "",
                pod=ev.object_name if ev.object_kind == "Pod" else "",
                revision=revision,
                ended=ev.last_seen if stale else None,
            )
        )
    return out


_FAILURE_REASONS: dict[str, tuple[Cause, float, str]] = {
    "ModelLoadFailed": ("model-load", 0.8, "The model fails to load (KServe: ModelLoadFailed)"),
    "RuntimeUnhealthy": ("crash", 0.6, "The serving runtime is unhealthy"),
    "RuntimeNotRecognized": (
        "config",
        0.85,
        "The predictor names a serving runtime KServe does not know",
    ),
    "NoSupportingRuntime": ("config", 0.85, "No serving runtime supports the model's format"),
    "RuntimeDisabled": ("config", 0.85, "The serving runtime for the model is disabled"),
    "InvalidPredictorSpec": ("config", 0.85, "The predictor spec is invalid"),
}


def isvc_findings(
    isvc: InferenceServiceEvidence, patterns: tuple[LogPattern, ...]
) -> list[Finding]:
    """What KServe's modelStatus, the conditions and the Knative revisions say failed."""
    out: list[Finding] = []
    status = isvc.model_status
    newest = isvc.latest_created_revision or (isvc.revisions[-1].name if isvc.revisions else "")
    if status is not None and (
        status.failure_reason or status.transition_status in ("BlockedByFailedLoad", "InvalidSpec")
    ):
        reason = status.failure_reason or status.transition_status
        cause, strength, summary = _FAILURE_REASONS.get(
            reason, ("crash", 0.6, f"The model is not served ({reason})")
        )
        code = f", exit {status.failure_exit_code}" if status.failure_exit_code is not None else ""
        parts = [f"format {isvc.model_format}" if isvc.model_format else ""]
        parts.append(f"runtime {isvc.runtime}" if isvc.runtime else "")
        parts.append(f"model {isvc.storage_uri}" if isvc.storage_uri else "")
        runtime = f" ({', '.join(x for x in parts if x)})" if any(parts) else ""
        line = f"modelStatus: {status.transition_status or '?'}, {reason}{code}{runtime}"
        line += f": {_clip(status.failure_message)}" if status.failure_message else ""
        fallback = Finding(
            cause,
            "infrastructure",
            strength,
            summary,
            line,
            "Read the model server's log and the failure message.",
            "fix-config" if cause == "config" else "investigate",
        )
        found = from_message(status.failure_message, line, patterns, fallback)
        where = pending_spec(isvc) or newest  # a refused spec failed, not a revision
        out.append(found.at(revision=where, began=status.failure_at))
    for revision in isvc.revisions:
        for cond in revision.conditions:
            if cond.status != "False" or cond.type not in (
                "ContainerHealthy",
                "ResourcesAvailable",
                "Ready",
            ):
                continue
            if cond.type == "Ready" and any(
                c.type != "Ready" and c.status == "False" for c in revision.conditions
            ):
                continue  # the specific condition says more
            line = (
                f"revision {revision.name} {cond.type}=False ({cond.reason}): {_clip(cond.message)}"
            )
            stalled = "never achieved" in cond.message or cond.reason == "ProgressDeadlineExceeded"
            if cond.type == "ResourcesAvailable" and stalled:
                # Knative gave up waiting for ready pods: the pods say why (probes, crash).
                fallback = Finding(
                    "probe",
                    "infrastructure",
                    0.45,
                    "The revision's pods never became ready",
                    line,
                    "Check the pods' readiness probe, port and start-up time.",
                )
            elif cond.type == "ResourcesAvailable":
                fallback = Finding(
                    "scheduling",
                    "infrastructure",
                    0.7,
                    "The revision cannot get its pods running",
                    line,
                    _FREE_CAPACITY,
                    "fix-scheduling",
                )
            else:
                fallback = Finding(
                    "crash",
                    "infrastructure",
                    0.6,
                    "The revision's container fails",
                    line,
                    "Read the crash log of the revision's pods.",
                )
            if "OOMKilled" in cond.message or "ExitCode137" in cond.reason:
                fallback = memory_finding(0.8, OOM, line, "kserve-container", None)
            found = from_message(cond.message, line, patterns, fallback)
            if found is not None:
                out.append(found.at(revision=revision.name, began=cond.since))
    return out


class RevisionOf:
    """Which revision a pod belongs to: its label or owner, else its name's prefix.

    Knative names revision pods `<revision>-deployment-<hash>-<hash>` and ReplicaSets name
    theirs `<replicaset>-<hash>`, so a pod read without labels still finds its revision.
    """

    def __init__(self, pods: PodsEvidence | None, isvc: InferenceServiceEvidence | None) -> None:
        self._known = {p.name: p.revision for p in pods.pods if p.revision} if pods else {}
        names = [r.name for r in isvc.revisions] if isvc else []
        self._names = sorted(names, key=len, reverse=True)

    def __call__(self, pod: str) -> str:
        """The pod's revision, or ""."""
        if pod in self._known:
            return self._known[pod]
        return next((r for r in self._names if pod.startswith(f"{r}-")), "")


def failing_revisions(findings: Sequence[Finding]) -> set[str]:
    """Revisions with an ongoing problem."""
    return {f.revision for f in findings if f.revision and not f.recovered and f.strength >= 0.45}


def node_findings(
    nodes: NodesEvidence, pods: PodsEvidence | None, revision_of: RevisionOf
) -> list[Finding]:
    """A node not ready or under pressure, placed on each model pod it runs."""
    out: list[Finding] = []
    for node in nodes.nodes:
        said = ", ".join(
            f"{c.type}={c.status}"
            + (
                f" ({c.reason}: {_clip(c.message, 160)})"
                if c.message
                else f" ({c.reason})"
                if c.reason
                else ""
            )
            for c in node.problems
        )
        if node.ready is not True:
            found = Finding(
                "node",
                "infrastructure",
                0.8,
                "The model's node is not ready",
                f"node {node.name}: {said}",
                f"Check node {node.name} (kubelet, network); its pods need to move.",
            )
        elif node.problems:
            found = Finding(
                "eviction",
                "infrastructure",
                0.65,
                "The model's node is under resource pressure",
                f"node {node.name}: {said}",
                f"Give node {node.name} room (disk, memory) or move the model.",
            )
        else:
            continue
        on = [p for p in (pods.pods if pods else ()) if p.node == node.name]
        out += [found.at(pod=p.name, revision=revision_of(p.name), node=node.name) for p in on] or [
            found.at(node=node.name)
        ]
    return out
