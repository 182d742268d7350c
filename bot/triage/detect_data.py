"""Detectors over the data and the alert itself: drifted inputs, accuracy, alert names.

Called by `triage.verdict` through `detect` (pure). The alert's own name counts as
evidence, so a drift or accuracy alert with healthy pods is data or concept drift even
where no drift engine is at hand (offline, or another replica).
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.model.alert import Notification
from bot.model.findings import ActionKind, Cause, Finding, when
from bot.model.signal_evidence import DriftEvidence

ACCURACY_DROP = 0.05  # absolute fall below the baseline that counts as concept drift

_FEATURE_DRIFT = re.compile(r"(?:feature|data|input|covariate)[\w]*drift|drift(?!.*accuracy)", re.I)
_ACCURACY = re.compile(r"accuracy|concept|precision|recall|auc|f1|performance", re.I)
_LOAD = re.compile(r"latency|error|5xx|slo|throughput|timeout|saturat|queue|unavailab", re.I)


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
