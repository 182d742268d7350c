"""What the KServe collector saw: the InferenceService, its revisions, traffic and status.

Produced by `cluster.inference_services`; read by `triage.detect_kserve`, `triage.rollout`
and the rollback action; shown by the notifiers. Frozen dataclasses; the evidence kind is
tagged by its `kind` field (the union in `model.results`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.model.cluster_evidence import Condition
from bot.model.evidence import Evidence


@dataclass(frozen=True)
class Revision:
    """A rollout step: a Knative Revision (serverless) or a ReplicaSet (raw mode)."""

    name: str
    created_at: datetime | None
    ready: bool | None = None
    storage_uri: str = ""
    image: str = ""
    conditions: tuple[Condition, ...] = ()
    # `NAME=<digest of the value>` per env var, so a change shows without its value.
    env: tuple[str, ...] = ()
    max_scale: int | None = None
    args: tuple[str, ...] = ()  # `--flag=<digest>` per argument, like `env`


@dataclass(frozen=True)
class ModelStatus:
    """KServe's `status.modelStatus`: the model's load state and its last failure."""

    active_state: str = ""  # e.g. Loaded, Pending, Loading, FailedToLoad
    target_state: str = ""
    transition_status: str = ""  # e.g. UpToDate, InProgress, BlockedByFailedLoad, InvalidSpec
    failure_reason: str = ""  # e.g. ModelLoadFailed, RuntimeUnhealthy, NoSupportingRuntime
    failure_message: str = ""
    failure_exit_code: int | None = None
    failure_at: datetime | None = None


@dataclass(frozen=True)
class TrafficTarget:
    """One line of the traffic split."""

    revision: str
    percent: int
    latest: bool = False
    tag: str = ""


RAW_MODES = ("RawDeployment", "Standard")  # KServe modes without Knative revisions


@dataclass(frozen=True)
class InferenceServiceEvidence(Evidence):
    """The KServe InferenceService and its rollout history."""

    kind: Literal["inference_service"] = field(default="inference_service", init=False)
    name: str
    namespace: str
    ready: bool | None
    deployment_mode: str = "Serverless"
    conditions: tuple[Condition, ...] = ()
    latest_ready_revision: str = ""
    latest_created_revision: str = ""
    previous_rolledout_revision: str = ""
    canary_traffic_percent: int | None = None
    storage_uri: str = ""
    runtime: str = ""
    traffic: tuple[TrafficTarget, ...] = ()
    revisions: tuple[Revision, ...] = ()
    generation: int | None = None
    spec_changed_at: datetime | None = None
    notes: tuple[str, ...] = ()  # partial failures, e.g. revisions not readable
    model_status: ModelStatus | None = None
    observed_generation: int | None = None
    model_format: str = ""  # e.g. "xgboost 3"

    def lines(self) -> tuple[str, ...]:
        """Readiness, the serving and previous revisions, the traffic split, notes."""
        state = {True: "ready", False: "NOT ready", None: "readiness unknown"}[self.ready]
        out = [f"InferenceService {self.namespace}/{self.name} ({self.deployment_mode}): {state}"]
        failing = {c.message: c.type for c in self.conditions if c.status == "False" and c.message}
        out += [f"{kind}: {message}" for message, kind in failing.items()]
        if self.latest_ready_revision or self.previous_rolledout_revision:
            previous = self.previous_rolledout_revision or "none"
            out.append(f"latest ready {self.latest_ready_revision or 'none'}, previous {previous}")
        newest = self.revisions[-1] if self.revisions else None
        if newest is not None and newest.created_at is not None:
            out.append(f"newest revision {newest.name} created {newest.created_at:%Y-%m-%d %H:%M}Z")
        if len(self.traffic) > 1:
            out.append("traffic: " + ", ".join(f"{t.revision} {t.percent}%" for t in self.traffic))
        return (*out, *self.notes)
