"""Detectors over warning events (pure): a table of rules, the first that matches decides.

Called by `triage.verdict` through `detect`: each event with a known reason becomes a
finding on the pod (and node, revision) it is about; one that stopped before the alert
is marked ended, so the verdict can weigh it as history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.model.cluster_evidence import EventsEvidence, KubeEvent, PodState
from bot.model.findings import Finding
from bot.triage.detect_common import (
    EVICTED,
    NODE_ROOM,
    OOM,
    PRESSURE,
    clip,
    unschedulable,
)
from bot.triage.detect_pods import RevisionOf

# The finding an event shows: from the event, the pod it is about (when known) and its line.
Build = Callable[[KubeEvent, PodState | None, str], Finding | None]


@dataclass(frozen=True)
class EventRule:
    """Events with one of `reasons` (any reason when empty) whose lowercased message holds
    one of `words` (no condition when empty), and the finding they show."""

    reasons: frozenset[str]
    words: tuple[str, ...]
    build: Build

    def matches(self, reason: str, message: str) -> bool:
        """True when the event is one this rule reads."""
        if self.reasons and reason not in self.reasons:
            return False
        return not self.words or any(word in message for word in self.words)


def _fixed(finding: Finding) -> Build:
    """A rule whose finding is always the same but for the event's line."""
    return lambda event, pod, line: finding.at(line=line)


def _scheduling(event: KubeEvent, pod: PodState | None, line: str) -> Finding:
    return unschedulable(event.message, line, pod.claims if pod is not None else ())


def _mount(event: KubeEvent, pod: PodState | None, line: str) -> Finding:
    volumes = pod.volumes if pod is not None else ()
    named = [v for v in volumes if v.split(":")[0] in event.message]
    if named:
        line += f" (volume {'; '.join(named)})"
    elif pod is not None and pod.claims:
        line += f" (PVC {', '.join(pod.claims)})"
    return Finding(
        "mount",
        "infrastructure",
        0.8,
        "A volume of the model pods cannot be mounted",
        line,
        "Fix the volume, Secret or ConfigMap named in the event.",
        "fix-config",
    )


def _probe(event: KubeEvent, pod: PodState | None, line: str) -> Finding:
    probes = "; ".join(c.probes for c in pod.containers if c.probes) if pod else ""
    if probes:
        line += f" [{probes}]"
    if "liveness" in event.message.lower():  # the kubelet restarts what fails it: a kill loop
        return Finding(
            "probe",
            "infrastructure",
            0.65,
            "The liveness probe kills the model container before it answers",
            line,
            "Give the model time to load: a startupProbe, or a longer "
            "initialDelaySeconds / failureThreshold on the liveness probe.",
            "fix-config",
        )
    return Finding(
        "probe",
        "infrastructure",
        0.5,
        "Model pods fail their health probes",
        line,
        "Check the probe against the model's startup and response times.",
    )


_NODE = _fixed(
    Finding(
        "node",
        "infrastructure",
        0.75,
        "The model's node is not ready",
        "",
        "Check the node's kubelet and conditions; move the pods.",
    )
)

RULES: tuple[EventRule, ...] = (
    EventRule(frozenset({"FailedScheduling"}), (), _scheduling),
    EventRule(frozenset({"FailedMount", "FailedAttachVolume"}), (), _mount),
    EventRule(
        frozenset(PRESSURE),
        (),
        _fixed(Finding("eviction", "infrastructure", 0.75, EVICTED, "", NODE_ROOM)),
    ),
    EventRule(frozenset({"NodeNotReady", "NodeNotSchedulable"}), (), _NODE),
    EventRule(frozenset(), ("node is not ready",), _NODE),
    EventRule(frozenset({"Unhealthy"}), (), _probe),
    EventRule(
        frozenset({"OOMKilling"}),
        (),
        _fixed(
            Finding(
                "oom",
                "infrastructure",
                0.85,
                OOM,
                "",
                "Raise the memory limit of the model container.",
                "raise-memory",
            )
        ),
    ),
    EventRule(
        frozenset({"Failed", "BackOff"}),
        ("pull", "image"),
        _fixed(
            Finding(
                "image-pull",
                "infrastructure",
                0.85,
                "The model image cannot be pulled",
                "",
                "Fix the image reference (tag, registry, pull secret).",
                "fix-image",
            )
        ),
    ),
    EventRule(
        frozenset({"FailedCreate"}),
        ("quota",),
        _fixed(
            Finding(
                "capacity",
                "infrastructure",
                0.8,
                "The namespace's resource quota stops the model from scaling",
                "",
                "Raise the namespace's ResourceQuota or lower the pods' requests and limits.",
                "raise-capacity",
            )
        ),
    ),
    EventRule(
        frozenset({"FailedCreate"}),
        ("forbidden",),
        _fixed(
            Finding(
                "config",
                "infrastructure",
                0.75,
                "Model pods are refused at creation (admission or security policy)",
                "",
                "Read the refusal: an admission policy, PodSecurity or a webhook rejects the pod.",
                "fix-config",
            )
        ),
    ),
)


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
        line = f"{ev.reason} on {about} (x{ev.count}): {clip(ev.message)}"
        message = ev.message.lower()
        rule = next((r for r in RULES if r.matches(ev.reason, message)), None)
        found = rule.build(ev, pod, line) if rule is not None else None
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
