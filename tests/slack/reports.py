"""Builders of triage reports for the Slack tests (plain data, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.model.alert import AlertStatus
from bot.model.cluster_evidence import (
    ContainerState,
    EventsEvidence,
    KubeEvent,
    LogExcerpt,
    LogsEvidence,
    PodsEvidence,
    PodState,
)
from bot.model.evidence import Verdict
from bot.model.findings import Category
from bot.model.kserve_evidence import InferenceServiceEvidence, Revision
from bot.model.report import AlertLine, TriageReport
from bot.model.results import AnyEvidence, CollectorResult
from bot.model.signal_evidence import DriftEvidence, FeatureDrift
from bot.model.target import Target

T0 = datetime(2026, 11, 24, 19, 0, 49, tzinfo=UTC)
GROUP_KEY = '{}:{alertname="HighErrorRate", inferenceservice="wine", namespace="models"}'


def alert(status: AlertStatus = "firing", **labels: str) -> AlertLine:
    """One alert line."""
    return AlertLine(
        name="HighErrorRate",
        status=status,
        severity="critical",
        summary="Error rate above 5%",
        starts_at=T0,
        ends_at=T0 + timedelta(minutes=20) if status == "resolved" else None,
        generator_url="http://prom:9090/graph?g0.expr=x",
        labels={"alertname": "HighErrorRate", **labels},
    )


def isvc(previous: str = "wine-predictor-00001") -> InferenceServiceEvidence:
    """A serverless InferenceService mid-rollout."""
    return InferenceServiceEvidence(
        name="wine",
        namespace="models",
        ready=False,
        latest_ready_revision="wine-predictor-00002",
        latest_created_revision="wine-predictor-00002",
        previous_rolledout_revision=previous,
        storage_uri="gs://models/wine/v2",
        runtime="kserve-sklearnserver:v0.13",
        revisions=(
            Revision("wine-predictor-00002", T0, False, "gs://models/wine/v2", "sk:v0.13"),
            Revision("wine-predictor-00001", T0 - timedelta(days=1), True, "gs://models/wine/v1"),
        ),
    )


def drift() -> DriftEvidence:
    """Two of three features drifted."""
    return DriftEvidence(
        model="wine",
        window_rows=1000,
        features=(
            FeatureDrift("alcohol", "ks", 0.4, 1e-9, True, 0.3, T0 - timedelta(hours=2)),
            FeatureDrift("ph", "ks", 0.2, 1e-4, True),
            FeatureDrift("sugar", "ks", 0.01, 0.8, False),
        ),
    )


def pods() -> PodsEvidence:
    """One crash-looping pod."""
    crash = ContainerState("kserve-container", False, 7, "CrashLoopBackOff", "", "OOMKilled", 137)
    return PodsEvidence(pods=(PodState("wine-abc", "Running", False, containers=(crash,)),))


def events() -> EventsEvidence:
    """A warning event with markup in its message."""
    return EventsEvidence(
        events=(KubeEvent("BackOff", "Back-off <restarting> & failing", "Pod", "wine-abc", 12),)
    )


def logs() -> LogsEvidence:
    """A traceback excerpt with a fence in it."""
    lines = ("Traceback (most recent call last):", "```", "ValueError: bad input")
    return LogsEvidence(
        excerpts=(LogExcerpt("wine-abc", "kserve-container", True, lines, 3, True),)
    )


def report(
    *evidence: AnyEvidence,
    status: AlertStatus = "firing",
    category: Category = "rollout",
    notes: tuple[str, ...] = (),
    **overrides: Any,
) -> TriageReport:
    """A report with the evidence given (as collector results) and the notes."""
    results = [CollectorResult(type(e).__name__, evidence=e) for e in evidence]
    results += [CollectorResult(f"collector {i}", note=n) for i, n in enumerate(notes)]
    values: dict[str, Any] = {
        "group_key": GROUP_KEY,
        "status": status,
        "receiver": "triage",
        "alertname": "HighErrorRate",
        "severity": "critical",
        "target": Target("models", "wine", model="wine"),
        "alerts": (alert(status, namespace="models"),),
        "truncated_alerts": 0,
        "results": tuple(results),
        "verdict": Verdict(
            category,
            0.8,
            "New revision broke the model",
            ("revision 2 rolled out 3 min before",),
            "Roll back to wine-predictor-00001",
            "rollback",
        ),
        "started_at": T0 + timedelta(minutes=1),
        "finished_at": T0 + timedelta(minutes=1, seconds=2),
        "external_url": "http://am:9093",
        "common_labels": {
            "alertname": "HighErrorRate",
            "namespace": "models",
            "severity": "critical",
        },
        "common_annotations": {"runbook_url": "https://runbooks.example/wine"},
    }
    values.update(overrides)
    return TriageReport(**values)
