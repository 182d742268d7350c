"""The finished triage of one alert group: what notifiers render and the store keeps."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cache
from typing import Any

from pydantic import TypeAdapter

from bot.model.alert import AlertStatus
from bot.model.evidence import (
    CollectorResult,
    Evidence,
    Verdict,
    evidence_from_dict,
    evidence_to_dict,
)
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

    def evidence(self) -> list[Evidence]:
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
        head: dict[str, Any] = _head_adapter().dump_python(_ReportHead.of(self), mode="json")
        head["alert_count"] = self.alert_count
        head["results"] = [
            {
                "collector": r.collector,
                "note": r.note,
                "seconds": round(r.seconds, 4),
                "evidence": evidence_to_dict(r.evidence) if r.evidence else None,
            }
            for r in self.results
        ]
        return head

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TriageReport:
        """Read back what `to_dict` wrote."""
        head = _head_adapter().validate_python(data)
        results = tuple(
            CollectorResult(
                collector=str(r["collector"]),
                note=str(r.get("note", "")),
                seconds=float(r.get("seconds", 0.0)),
                evidence=evidence_from_dict(r["evidence"]) if r.get("evidence") else None,
            )
            for r in data.get("results", [])
        )
        return head.build(results)


@dataclass(frozen=True)
class _ReportHead:
    """The report without its polymorphic results, for pydantic (de)serialisation.

    Its fields are the report's, less `results`, which `to_dict` and `from_dict` handle
    through the evidence registry.
    """

    group_key: str
    status: AlertStatus
    receiver: str
    alertname: str
    severity: str
    target: Target
    alerts: tuple[AlertLine, ...]
    truncated_alerts: int
    verdict: Verdict
    started_at: datetime
    finished_at: datetime
    external_url: str
    common_labels: dict[str, str]
    common_annotations: dict[str, str]

    @classmethod
    def of(cls, r: TriageReport) -> _ReportHead:
        return cls(**{name: getattr(r, name) for name in _head_fields()})

    def build(self, results: tuple[CollectorResult, ...]) -> TriageReport:
        return TriageReport(
            results=results, **{name: getattr(self, name) for name in _head_fields()}
        )


@cache
def _head_fields() -> tuple[str, ...]:
    return tuple(f.name for f in fields(_ReportHead))


@cache
def _head_adapter() -> TypeAdapter[_ReportHead]:
    # Building an adapter costs milliseconds; the worker serialises every report.
    return TypeAdapter(_ReportHead)
