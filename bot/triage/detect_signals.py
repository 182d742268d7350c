"""Detectors over resource signals: memory and CPU against their limits, autoscalers.

Called by `triage.verdict` through `detect` (pure). Load that outgrew the model (CPU
throttled, an autoscaler held at its maximum) is infrastructure: capacity.
"""

from __future__ import annotations

from bot.model.cluster_evidence import AutoscalerEvidence
from bot.model.findings import Finding, format_bytes
from bot.model.signal_evidence import MetricsEvidence
from bot.triage.detect_common import memory_finding

MEMORY_NEAR_LIMIT = 0.9
CPU_NEAR_LIMIT = 0.9
THROTTLED = 0.25  # a quarter of CFS periods throttled slows every request


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
