"""Pydantic models of the Alertmanager webhook payload, version 4.

Parsed by `alerts.receiver`; the typed `Notification` then travels through the store and
the triage pipeline. Unknown fields are ignored so newer Alertmanagers keep working.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Alertmanager marks "no end yet" with Go's zero time.
GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)

AlertStatus = Literal["firing", "resolved"]


class Alert(BaseModel):
    """One alert of a notification."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    status: AlertStatus
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime = Field(default=GO_ZERO_TIME, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @property
    def has_ended(self) -> bool:
        """True when Alertmanager sent a real end time (not the zero time)."""
        return self.ends_at > GO_ZERO_TIME

    def identity(self) -> str:
        """The fingerprint, or a stable hash of the labels when a sender omits it."""
        if self.fingerprint:
            return self.fingerprint
        flat = "\x00".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return hashlib.sha256(flat.encode()).hexdigest()[:16]


class Notification(BaseModel):
    """A whole webhook body: one alert group at one moment."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    version: Literal["4"]
    group_key: str = Field(alias="groupKey", min_length=1)
    status: AlertStatus
    receiver: str
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    alerts: list[Alert] = Field(min_length=1)

    def dedup_key(self) -> str:
        """What makes two deliveries the same notification.

        Alertmanager HA peers and retries re-send byte-different bodies (the order of
        alerts may change) that mean the same thing: same group, same status, and the same
        alerts each in the same state.
        """
        parts = sorted(f"{a.identity()}:{a.status}" for a in self.alerts)
        raw = "\x00".join([self.group_key, self.status, *parts])
        return hashlib.sha256(raw.encode()).hexdigest()

    @property
    def alertname(self) -> str:
        """The group's alert name, when the group has one."""
        return self.common_labels.get("alertname") or self.group_labels.get("alertname", "")

    def firing(self) -> list[Alert]:
        """The alerts still firing."""
        return [a for a in self.alerts if a.status == "firing"]

    def earliest_start(self) -> datetime:
        """When the oldest alert in the group began."""
        return min(a.starts_at for a in self.alerts)
