"""The finished triage of one alert group: what notifiers render and the store keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from pydantic import TypeAdapter

from bot.model.alert import AlertStatus
from bot.model.evidence import Evidence, Verdict
from bot.model.results import AnyEvidence, CollectorResult, known_kinds
from bot.model.target import Target


@dataclass(frozen=True)
class AlertLine:
    """The part of one alert a person reads."""

    name: str
    status: AlertStatus
    severity: str
    summary: str
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str
    labels: dict[str, str]


@dataclass(frozen=True)
class TriageReport:
    """Everything known about one alert group at one notification."""

    group_key: str
    status: AlertStatus
    receiver: str
    alertname: str
    severity: str
    target: Target
    alerts: tuple[AlertLine, ...]
    truncated_alerts: int
    results: tuple[CollectorResult, ...]
    verdict: Verdict
    started_at: datetime
    finished_at: datetime
    external_url: str = ""
    common_labels: dict[str, str] = field(default_factory=dict)
    common_annotations: dict[str, str] = field(default_factory=dict)

    @property
    def alert_count(self) -> int:
        """Alerts in the group, counting the ones Alertmanager truncated."""
        return len(self.alerts) + self.truncated_alerts

    def evidence(self) -> list[AnyEvidence]:
        """The evidence the collectors returned, in collector order."""
        return [r.evidence for r in self.results if r.evidence is not None]

    def notes(self) -> list[str]:
        """Why some collector returned nothing."""
        return [f"{r.collector}: {r.note}" for r in self.results if r.note]

    def find(self, kind: type[Evidence]) -> Evidence | None:
        """The first evidence of a kind, if any collector returned it."""
        return next((e for e in self.evidence() if isinstance(e, kind)), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored, served by the API, printed by `triage --json`)."""
        data: dict[str, Any] = _adapter().dump_python(self, mode="json")
        data["alert_count"] = self.alert_count  # for readers; ignored when read back
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TriageReport:
        """Read back what `to_dict` wrote, by this version or an older or newer one.

        Replicas of two versions share the PostgreSQL store during a rolling upgrade: an
        evidence kind this version does not know is read as no evidence, not a failure.
        """
        known = known_kinds()
        results = data.get("results") or []
        if any((r.get("evidence") or {}).get("kind", "") not in known for r in results):
            data = {**data, "results": [_readable(r, known) for r in results]}
        return _adapter().validate_python(data)


def _readable(result: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    evidence = result.get("evidence")
    if evidence is None or evidence.get("kind", "") in known:
        return result
    return {**result, "evidence": None}


@cache
def _adapter() -> TypeAdapter[TriageReport]:
    # Built on first use: building costs milliseconds, which start-up would pay.
    return TypeAdapter(TriageReport)
