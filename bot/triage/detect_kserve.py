"""Detectors over the InferenceService: KServe's modelStatus and the Knative revisions'
conditions (pure).

Called by `triage.verdict` through `detect`. A failure KServe records for a spec it refused
is placed on that spec (`rollout.pending_spec`), not on a revision, so the verdict can tell
"revert the spec" from "roll back".
"""

from __future__ import annotations

from dataclasses import replace

from bot.model.findings import Cause, Finding
from bot.model.kserve_evidence import InferenceServiceEvidence
from bot.triage.detect_common import OOM, clip, from_message, memory_finding, unschedulable
from bot.triage.log_pattern import LogPattern
from bot.triage.rollout import pending_spec

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
        line += f": {clip(status.failure_message)}" if status.failure_message else ""
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
                f"revision {revision.name} {cond.type}=False ({cond.reason}): {clip(cond.message)}"
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
                fallback = replace(unschedulable(cond.message, line), strength=0.7)
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
