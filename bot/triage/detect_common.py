"""What detectors share: the phrases, a memory finding with its advice, messages through
the catalogue, and lines clipped so their end (where the cause is) survives.

Used by `triage.detect_pods`, `triage.detect_events` and `triage.detect_kserve` (pure).
"""

from __future__ import annotations

import re

from bot.model.findings import Finding, format_bytes, suggest_memory
from bot.triage.log_pattern import LogPattern
from bot.triage.log_patterns import match_line

PULL = {"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"}
CONFIG = {"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}
PRESSURE = {"Evicted", "EvictionThresholdMet", "NodeHasDiskPressure", "NodeHasMemoryPressure"}
IMAGE = re.compile(r'image "([^"]+)"')

OOM = "The model container runs out of memory (OOMKilled)"
# Exit codes 128+n: the signal that ended the process says much of why.
SIGNALS = {
    132: "SIGILL: illegal instruction, the binary needs a CPU feature this node lacks",
    134: "SIGABRT: the process aborted itself",
    135: "SIGBUS: bus error",
    136: "SIGFPE: arithmetic error",
    139: "SIGSEGV: segmentation fault in native code",
}
UNSCHEDULABLE = "Model pods cannot be scheduled"
EVICTED = "Model pods are evicted (node pressure)"
FREE_CAPACITY = "Free capacity or lower the pod's requests; see the scheduler's message."
NODE_ROOM = "Give the node room or move the model: check the node's memory and disk."
READ_CRASH = "Read the crash log of {c} (previous instance) and fix the cause."


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


def clip(text: str, size: int = 400) -> str:
    """One line of at most `size` characters; a long one keeps its end, where causes are."""
    text = " ".join(text.split())
    if len(text) <= size:
        return text
    head = size // 3
    return f"{text[:head]} … {text[-(size - head - 3) :]}"


def unschedulable(message: str, line: str, claims: tuple[str, ...] = ()) -> Finding:
    """The scheduler's refusal: a volume claim not bound, else a lack of room."""
    lowered = message.lower()
    missing = "unbound" in lowered or "not found" in lowered
    if missing and "persistentvolumeclaim" in lowered:
        shown = f" (PVC {', '.join(claims)})" if claims else ""
        return Finding(
            "mount",
            "infrastructure",
            0.85,
            "The model's volume claim is missing or not bound: no volume to schedule with",
            line + shown,
            "Check the PVC's StorageClass and provisioner (kubectl describe pvc).",
            "fix-config",
        )
    return Finding(
        "scheduling", "infrastructure", 0.85, UNSCHEDULABLE, line, FREE_CAPACITY, "fix-scheduling"
    )
