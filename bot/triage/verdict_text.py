"""The words of a verdict: finding lines merged across pods, pod health, honest `unknown`.

Called by `triage.verdict` (pure). Kept apart so the weighing reads on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.model.alert import Notification
from bot.model.cluster_evidence import (
    AutoscalerEvidence,
    EventsEvidence,
    LogsEvidence,
    NodesEvidence,
    PodsEvidence,
)
from bot.model.evidence import Evidence
from bot.model.findings import RECOVERED_AFTER, Finding, duration
from bot.model.kserve_evidence import InferenceServiceEvidence
from bot.model.signal_evidence import DriftEvidence, MetricsEvidence

_SOURCES: tuple[tuple[type[Evidence], str], ...] = (
    (InferenceServiceEvidence, "the InferenceService"),
    (PodsEvidence, "pods"),
    (EventsEvidence, "warning events"),
    (LogsEvidence, "logs"),
    (AutoscalerEvidence, "autoscalers"),
    (NodesEvidence, "nodes"),
    (MetricsEvidence, "Prometheus metrics"),
    (DriftEvidence, "drift"),
)


def finding_lines(findings: Sequence[Finding], start: datetime, limit: int = 5) -> list[str]:
    """Each finding's line once, the pods that share it counted, old ones marked as such."""
    pods: dict[str, list[str]] = {}
    nodes = {f.pod: f.node for f in findings if f.pod and f.node}
    for f in findings:
        line = f.line
        if f.recovered and f.ended is not None and f.ended < start - RECOVERED_AFTER:
            line += f" ({duration(start - f.ended)} before the alert; healthy since)"
        pods.setdefault(line, [])
        if f.pod and f.pod not in pods[line]:
            pods[line].append(f.pod)
    out = []
    for line, names in pods.items():
        if not names or line.startswith(names[0]):
            out.append(line)
        elif len(names) == 1:
            node = f" on node {nodes[names[0]]}" if names[0] in nodes else ""
            out.append(f"pod {names[0]}{node}: {line}")
        else:
            more = f" and {len(names) - 2} more" if len(names) > 2 else ""
            on = sorted({nodes[n] for n in names if n in nodes})
            where = f" on node{'s' if len(on) > 1 else ''} {', '.join(on[:3])}" if on else ""
            out.append(f"{len(names)} pods ({', '.join(names[:2])}{more}){where}: {line}")
    return out[:limit]


def health(evidence: Sequence[Evidence]) -> tuple[bool | None, str]:
    """Whether every pod is ready with nothing waiting, and the line that says so."""
    pods = next((e for e in evidence if isinstance(e, PodsEvidence)), None)
    if pods is None or not pods.pods:
        return None, "no pods seen"
    total = len(pods.pods)
    ready = sum(1 for p in pods.pods if p.ready)
    waiting = sorted(
        {c.waiting_reason for p in pods.pods for c in p.containers if c.waiting_reason}
    )
    if ready == total and not waiting:
        return True, f"pods healthy: {ready}/{total} ready"
    phases: dict[str, int] = {}
    for pod in pods.pods:
        if pod.phase != "Running":
            phases[pod.phase] = phases.get(pod.phase, 0) + 1
    states = [f"{n} {phase}" for phase, n in sorted(phases.items())] + waiting
    return False, f"pods unhealthy: {ready}/{total} ready" + "".join(f", {w}" for w in states)


def unknown_reasons(
    evidence: Sequence[Evidence],
    weak: Sequence[Finding],
    start: datetime,
    names_workload: bool,
    window: timedelta,
) -> tuple[str, ...]:
    """What was gathered, what was not, and the findings too weak to decide on."""
    got = [name for kind, name in _SOURCES if any(isinstance(e, kind) for e in evidence)]
    missing = [name for kind, name in _SOURCES if name not in got]
    out = []
    if not got:
        out.append(
            "nothing was gathered: "
            + (
                "no cluster, Prometheus or drift data is configured or reachable"
                if names_workload
                else "the alert labels name no workload to inspect"
            )
        )
    else:
        out.append(
            "gathered: "
            + ", ".join(got)
            + ("; not gathered: " + ", ".join(missing) if missing else "")
        )
    healthy, line = health(evidence)
    if healthy is not None:
        out.append(line)
    if any(isinstance(e, InferenceServiceEvidence) for e in evidence):
        out.append(f"no revision or spec change in the {duration(window)} before the alert")
    drift = next((e for e in evidence if isinstance(e, DriftEvidence)), None)
    if drift is not None:
        accuracy = ""
        if drift.accuracy is not None and drift.accuracy_baseline is not None:
            accuracy = f"; accuracy {drift.accuracy:.3g}, baseline {drift.accuracy_baseline:.3g}"
        out.append(f"no drifted features among {len(drift.features)}{accuracy}")
    metrics = next((e for e in evidence if isinstance(e, MetricsEvidence)), None)
    if metrics is not None:
        out += [line for line in metrics.lines() if line.startswith("traffic ")]
    if weak:
        out.append("seen, too weak to decide on:")
        out += [f"  {line}" for line in finding_lines(weak, start, limit=3)]
    elif got:
        out.append("no failure, recent change or drift found in what was gathered")
    return tuple(out)


_NAMING = (
    "namespace",
    "inferenceservice",
    "model",
    "model_name",
    "revision_name",
    "service_name",
    "deployment",
    "pod",
    "container",
)


def about(notification: Notification) -> tuple[str, ...]:
    """What the alert's labels name, so an `unknown` still says where to look."""
    labels = notification.common_labels or (
        notification.alerts[0].labels if notification.alerts else {}
    )
    named = [f"{k}={labels[k]}" for k in _NAMING if labels.get(k)]
    return (f"the alert names {', '.join(named)}",) if named else ()
