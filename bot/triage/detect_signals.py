"""Detectors over signals: log excerpts, resource use, autoscalers, drift and the alert itself.

Called by `triage.verdict` through `detect`; pure functions from typed evidence and the
notification to `Finding`s. Logs speak through the catalogue in `triage.log_patterns`
whether or not anything rolled out; the alert's own name counts as evidence, so a drift
alert with healthy pods is data drift even where no drift engine is at hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from bot.alerts.models import Notification
from bot.triage.detect_workload import memory_finding
from bot.triage.evidence import AutoscalerEvidence, DriftEvidence, LogsEvidence, MetricsEvidence
from bot.triage.findings import ActionKind, Cause, Finding, format_bytes, when
from bot.triage.log_patterns import LogPattern, match_line

MEMORY_NEAR_LIMIT = 0.9
CPU_NEAR_LIMIT = 0.9
THROTTLED = 0.25  # a quarter of CFS periods throttled slows every request
ACCURACY_DROP = 0.05  # absolute fall below the baseline that counts as concept drift

_FEATURE_DRIFT = re.compile(r"(?:feature|data|input|covariate)[\w]*drift|drift(?!.*accuracy)", re.I)
_ACCURACY = re.compile(r"accuracy|concept|precision|recall|auc|f1|performance", re.I)
_LOAD = re.compile(r"latency|error|5xx|slo|throughput|timeout|saturat|queue|unavailab", re.I)


_WARNING = re.compile(r"\bWARN(?:ING)?\b|level=warn", re.I)
_SEVERE = re.compile(r"\b(?:ERROR|CRITICAL|FATAL)\b|Traceback|\(traceback|level=error", re.I)


def _strength(line: str, base: float) -> float:
    """A warning weighs less than an error; a traceback more than a bare error line."""
    if _WARNING.search(line) and not _SEVERE.search(line):
        return round(base * 0.5, 3)
    if "(traceback" in line:
        return max(base, 0.55)
    return base


def log_findings(
    logs: LogsEvidence, revision_of: Callable[[str], str], patterns: tuple[LogPattern, ...]
) -> list[Finding]:
    """Each container's most telling log line, through the catalogue; tracebacks as code."""
    out: list[Finding] = []
    for x in logs.excerpts:
        revision = revision_of(x.pod)
        which = " (previous instance)" if x.previous else ""
        matched = [(line, found) for line in x.lines if (found := match_line(line, patterns))]
        if matched:
            ranked = [(line, k, m, _strength(line, k.strength)) for line, (k, m) in matched]
            line, known, match, strength = max(ranked, key=lambda r: r[3])
            summary, action = known.describe(match)
            where = f"log of {x.container}{which}: {line}"
            out.append(
                Finding(
                    known.cause,
                    known.category,
                    strength,
                    summary,
                    where,
                    action,
                    known.action_kind,
                    pod=x.pod,
                    container=x.container,
                    revision=revision,
                )
            )
        elif x.has_traceback or x.error_count:
            first = next(
                (line for line in x.lines if "(traceback" in line), x.lines[0] if x.lines else ""
            )
            if not first:
                continue
            kind = "traceback" if x.has_traceback else "error"
            out.append(
                Finding(
                    "code",
                    "infrastructure",
                    0.4 if x.has_traceback else 0.25,
                    "The model server logs errors",
                    f"{kind} in the log of {x.container}{which}: {first}",
                    "Read the model server's log around the alert.",
                    pod=x.pod,
                    container=x.container,
                    revision=revision,
                )
            )
    return out


def metric_findings(metrics: MetricsEvidence) -> list[Finding]:
    """Memory near its limit, CPU at its limit or throttled."""
    out: list[Finding] = []
    for use in metrics.resources:
        where = f"{use.pod}/{use.container}"
        if use.memory_bytes is not None and use.memory_limit_bytes:
            share = use.memory_bytes / use.memory_limit_bytes
            if share >= MEMORY_NEAR_LIMIT:
                limit = format_bytes(use.memory_limit_bytes)
                line = f"{where} used {share:.0%} of its {limit} memory limit"
                summary = "The model container is at its memory limit"
                limit_bytes = int(use.memory_limit_bytes)  # whole bytes, as a pod spec has them
                found = memory_finding(0.65, summary, line, use.container, limit_bytes)
                out.append(found.at(pod=use.pod, container=use.container))
        throttled = use.cpu_throttled is not None and use.cpu_throttled >= THROTTLED
        at_limit = bool(
            use.cpu_cores is not None
            and use.cpu_limit_cores
            and use.cpu_cores / use.cpu_limit_cores >= CPU_NEAR_LIMIT
        )
        if throttled or at_limit:
            parts = []
            if at_limit and use.cpu_cores is not None and use.cpu_limit_cores:
                parts.append(
                    f"CPU at {use.cpu_cores / use.cpu_limit_cores:.0%} "
                    f"of its {use.cpu_limit_cores:g}-core limit"
                )
            if throttled and use.cpu_throttled is not None:
                parts.append(f"{use.cpu_throttled:.0%} of CPU periods throttled")
            line = f"{where}: " + ", ".join(parts)
            action = f"Raise the CPU limit of {use.container} or add replicas (raise maxReplicas)."
            out.append(
                Finding(
                    "capacity",
                    "infrastructure",
                    0.7 if throttled else 0.6,
                    "The model is short of CPU (throttled at its limit)",
                    line,
                    action,
                    "raise-capacity",
                    pod=use.pod,
                    container=use.container,
                )
            )
    return out


def autoscaler_findings(scalers: AutoscalerEvidence) -> list[Finding]:
    """An autoscaler held at its maximum: the load outgrew the replicas allowed."""
    out = []
    for s in scalers.scalers:
        limited = any(
            c.type == "ScalingLimited" and c.status == "True" and "TooMany" in c.reason
            for c in s.conditions
        )
        at_max = (
            s.max_replicas is not None
            and (s.current_replicas or 0) >= s.max_replicas
            and (s.desired_replicas or 0) >= s.max_replicas
        )
        if not (limited or at_max):
            continue
        line = (
            f"{s.kind} {s.name} at its maximum: {s.current_replicas} of max "
            f"{s.max_replicas} replicas, desired {s.desired_replicas}"
        )
        said = [f"{c.type}: {c.reason}" for c in s.conditions if c.reason and c.status == "True"]
        if said:
            line += " (" + "; ".join(said[:3]) + ")"
        action = f"Raise maxReplicas of {s.name} (now {s.max_replicas}) or the per-pod capacity."
        out.append(
            Finding(
                "capacity",
                "infrastructure",
                0.7,
                "The autoscaler is at its maximum: the model cannot scale with the load",
                line,
                action,
                "raise-capacity",
                details={"max_replicas": str(s.max_replicas)},
            )
        )
    return out


def drift_findings(drift: DriftEvidence, model: str, start: datetime) -> list[Finding]:
    """Drifted input features, or accuracy down with stable inputs."""
    out: list[Finding] = []
    names = [f.name for f in sorted(drift.features, key=lambda f: f.p_value) if f.drifted]
    model = drift.model or model
    if drift.dataset_drift or names:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        since = [f.drifted_since for f in drift.features if f.drifted and f.drifted_since]
        share = f"{drift.drift_share:.0%}"
        line = f"{len(names)} of {len(drift.features)} features drifted ({share}): {shown}"
        if drift.accuracy is not None and drift.accuracy_baseline is not None:
            baseline = f"{drift.accuracy_baseline:.3g}"
            line += f"; accuracy {drift.accuracy:.3g} against a baseline of {baseline}"
        first = min(since, default=None)
        if first is not None:
            line += f"; drift began{when(first, start)}"
        action = f"Check the upstream data for {shown}, then retrain {model or 'the model'}."
        details = {"model": model, "drifted_features": ",".join(names)}
        out.append(
            Finding(
                "feature-drift",
                "data-drift",
                0.75,
                f"Input data drifted for {model or 'the model'}",
                line,
                action,
                "retrain",
                began=first,
                details=details,
            )
        )
    elif (
        drift.accuracy is not None
        and drift.accuracy_baseline is not None
        and drift.accuracy <= drift.accuracy_baseline - ACCURACY_DROP
    ):
        line = (
            f"accuracy fell to {drift.accuracy:.3g} "
            f"from a baseline of {drift.accuracy_baseline:.3g}; "
            f"inputs stable: none of {len(drift.features)} features drifted"
        )
        details = {
            "model": model,
            "accuracy": f"{drift.accuracy:.4g}",
            "accuracy_baseline": f"{drift.accuracy_baseline:.4g}",
        }
        out.append(
            Finding(
                "accuracy-drop",
                "concept-drift",
                0.72,
                f"The relation between inputs and labels changed for {model or 'the model'}",
                line,
                f"Retrain {model or 'the model'} on recently labelled data.",
                "retrain",
                details=details,
            )
        )
    return out


# Our own resource alerts (manifests' PrometheusRule): what each says on its own.
_RESOURCE_ALERTS: dict[str, tuple[Cause, float, str, str, ActionKind]] = {
    "ModelCPUThrottled": (
        "capacity",
        0.6,
        "The model is short of CPU (throttled at its limit)",
        "Raise the CPU limit of the model container or add replicas (raise maxReplicas).",
        "raise-capacity",
    ),
    "ModelMemoryNearLimit": (
        "oom",
        0.55,
        "The model container is near its memory limit",
        "Raise the memory limit of the model container before it is OOMKilled.",
        "raise-memory",
    ),
    "ModelNetworkErrors": (
        "node",
        0.5,
        "The model's pods see network errors",
        "Check the node's network and the CNI of the pods named in the alert.",
        "investigate",
    ),
}


def alert_findings(notification: Notification, model: str) -> list[Finding]:
    """What the alert's own name, labels and annotations say (drift and accuracy alerts)."""
    out: list[Finding] = []
    for alert in notification.alerts:
        if alert.status != "firing":
            continue
        name = alert.labels.get("alertname", "")
        text = " ".join(
            [name, alert.annotations.get("summary", ""), alert.annotations.get("description", "")]
        )
        feature = alert.labels.get("feature", "")
        subject = alert.labels.get("model") or model or "the model"
        said = alert.annotations.get("summary") or alert.annotations.get("description") or name
        where = "/".join(x for x in (alert.labels.get("pod"), alert.labels.get("container")) if x)
        if name in _RESOURCE_ALERTS:
            cause, strength, summary, action, kind = _RESOURCE_ALERTS[name]
            line = f"alert {name}{' on ' + where if where else ''}: {said}"
            found = Finding(cause, "infrastructure", strength, summary, line, action, kind)
            out.append(found.at(pod=alert.labels.get("pod", ""), began=alert.starts_at))
            continue
        if _ACCURACY.search(name):
            line = f"alert {name}: {said}"
            out.append(
                Finding(
                    "accuracy-drop",
                    "concept-drift",
                    0.6,
                    f"The model's accuracy fell ({subject})",
                    line,
                    f"Compare recent labelled outcomes with the training data; retrain {subject}.",
                    "retrain",
                    began=alert.starts_at,
                    details={"model": subject},
                )
            )
        elif _FEATURE_DRIFT.search(name) or ("drift" in text.lower() and not _LOAD.search(name)):
            line = f"alert {name}: {said}" + (
                f" (feature {feature})" if feature and feature not in said else ""
            )
            out.append(
                Finding(
                    "feature-drift",
                    "data-drift",
                    0.62,
                    f"Input data drifted for {subject}",
                    line,
                    f"Check the upstream data{' for ' + feature if feature else ''}, "
                    f"then retrain {subject}.",
                    "retrain",
                    began=alert.starts_at,
                    details={"model": subject, "drifted_features": feature},
                )
            )
    return out


def is_load_alert(notification: Notification) -> bool:
    """Latency, errors, throughput: alerts that load can cause."""
    return any(_LOAD.search(a.labels.get("alertname", "")) for a in notification.alerts)


def began_before(finding: Finding, start: datetime) -> bool:
    """True when the finding began before the alert (or when it is not known)."""
    return finding.began is None or finding.began <= start
