"""Detectors over pods, their containers and their nodes (pure).

Called by `triage.verdict` through `detect`: each finding is placed on its pod, container,
node and revision and timed where the evidence says when. Termination messages go through
the log-pattern catalogue, since Knative copies the model's last words there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.model.cluster_evidence import ContainerState, NodesEvidence, PodsEvidence, PodState
from bot.model.findings import Finding, format_bytes
from bot.model.kserve_evidence import InferenceServiceEvidence
from bot.triage.detect_common import (
    CONFIG,
    EVICTED,
    IMAGE,
    NODE_ROOM,
    OOM,
    PULL,
    READ_CRASH,
    SIGNALS,
    clip,
    from_message,
    memory_finding,
    unschedulable,
)
from bot.triage.log_pattern import LogPattern


def _container(pod: PodState, c: ContainerState, patterns: tuple[LogPattern, ...]) -> list[Finding]:
    where = f"{'init container' if c.init else 'container'} {c.name}"
    healthy_since = c.ready and c.running_since is not None and not c.waiting_reason
    ended, out = c.last_terminated_at, []
    said = f": {clip(c.last_terminated_message)}" if c.last_terminated_message else ""
    if c.last_terminated_reason == "OOMKilled":
        limit = f"; limit {format_bytes(c.memory_limit_bytes)}" if c.memory_limit_bytes else ""
        line = f"{where} OOMKilled (exit {c.last_exit_code}), {c.restart_count} restarts{limit}"
        found = memory_finding(0.9, OOM, line, c.name, c.memory_limit_bytes)
        out.append(found.at(began=ended, ended=ended, recovered=healthy_since))
    elif c.waiting_reason in PULL:
        match = IMAGE.search(c.waiting_message)
        image = match.group(1) if match else c.image
        line = f"{where} cannot pull its image {image}: {c.waiting_reason}"
        if c.waiting_message:
            line += f" ({clip(c.waiting_message, 160)})"
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
    elif c.waiting_reason in CONFIG:
        line = f"{where}: {c.waiting_reason}" + (
            f": {clip(c.waiting_message)}" if c.waiting_message else ""
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
        signal = f"; {SIGNALS[code]}" if code in SIGNALS else ""
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
            READ_CRASH.format(c=c.name),
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
            line = "evicted" + (f": {clip(pod.message)}" if pod.message else "")
            out.append(
                Finding("eviction", "infrastructure", 0.8, EVICTED, line, NODE_ROOM).at(
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
                line = f"cannot be scheduled: {clip(cond.message or cond.reason)}"
                found = unschedulable(cond.message, line, pod.claims)
                out.append(found.at(pod=pod.name, revision=pod.revision, began=cond.since))
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
                f" ({c.reason}: {clip(c.message, 160)})"
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
