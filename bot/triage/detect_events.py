"""Detectors over warning events (pure).

Called by `triage.verdict` through `detect`: each event with a known reason becomes a
finding on the pod (and node, revision) it is about; one that stopped before the alert
is marked ended, so the verdict can weigh it as history.
"""

from __future__ import annotations

from datetime import datetime

from bot.model.cluster_evidence import EventsEvidence, PodState
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
        found: Finding | None = None
        if ev.reason == "FailedScheduling":
            found = unschedulable(ev.message, line, pod.claims if pod is not None else ())
        elif ev.reason in ("FailedMount", "FailedAttachVolume"):
            named = [
                v for v in (pod.volumes if pod is not None else ()) if v.split(":")[0] in ev.message
            ]
            if named:
                line += f" (volume {'; '.join(named)})"
            elif pod is not None and pod.claims:
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
        elif ev.reason in PRESSURE:
            found = Finding("eviction", "infrastructure", 0.75, EVICTED, line, NODE_ROOM)
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
        elif ev.reason == "FailedCreate" and "quota" in message:
            found = Finding(
                "capacity",
                "infrastructure",
                0.8,
                "The namespace's resource quota stops the model from scaling",
                line,
                "Raise the namespace's ResourceQuota or lower the pods' requests and limits.",
                "raise-capacity",
            )
        elif ev.reason == "FailedCreate" and "forbidden" in message:
            found = Finding(
                "config",
                "infrastructure",
                0.75,
                "Model pods are refused at creation (admission or security policy)",
                line,
                "Read the refusal: an admission policy, PodSecurity or a webhook rejects the pod.",
                "fix-config",
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
