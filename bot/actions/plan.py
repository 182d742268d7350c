"""What a rollback would change, decided from what is known about an InferenceService.

Pure. `slack.render` calls `plan_from_evidence` to show the diff in the rollback button's
confirmation; `actions.rollback` calls `plan_from_status` on the live object when the click
arrives (the evidence may be minutes old) and applies the resulting patch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from bot.cluster import parsing as p
from bot.model.kserve_evidence import InferenceServiceEvidence, Revision


@dataclass(frozen=True)
class Change:
    """One field a rollback changes."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class RollbackPlan:
    """Either pin traffic to the previous revision or restore a previous predictor spec."""

    mode: Literal["traffic", "spec"]
    to_revision: str
    changes: tuple[Change, ...]
    storage_uri: str = ""
    runtime_version: str = ""

    def diff_lines(self) -> tuple[str, ...]:
        """`field: before → after`, one line per change."""
        return tuple(f"{c.field}: {c.before or 'unset'} → {c.after}" for c in self.changes)

    def patch(self) -> dict[str, Any]:
        """The JSON merge patch of the InferenceService that performs the rollback."""
        if self.mode == "traffic":
            return {"spec": {"predictor": {"canaryTrafficPercent": 0}}}
        model: dict[str, Any] = {"storageUri": self.storage_uri}
        if self.runtime_version:
            model["runtimeVersion"] = self.runtime_version
        return {"spec": {"predictor": {"model": model}}}


def image_tag(image: str) -> str:
    """The tag of a container image reference (`repo/x:1.2@sha256:..` → `1.2`)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def _traffic_plan(previous: str, latest: str, canary: int | None) -> RollbackPlan:
    return RollbackPlan(
        mode="traffic",
        to_revision=previous,
        changes=(
            Change("canaryTrafficPercent", "" if canary is None else str(canary), "0"),
            Change("traffic", f"{latest} (latest)" if latest else "latest", f"{previous} 100%"),
        ),
    )


def _spec_plan(
    revisions: Sequence[Revision], storage_uri: str, runtime_version: str
) -> RollbackPlan | None:
    epoch = datetime.min.replace(tzinfo=UTC)
    ordered = sorted(revisions, key=lambda r: r.created_at or epoch, reverse=True)
    if not ordered:
        return None
    current_uri = storage_uri or ordered[0].storage_uri
    current_tag = runtime_version or image_tag(ordered[0].image)
    for older in ordered[1:]:
        tag = image_tag(older.image)
        if older.ready is False or not older.storage_uri:
            continue
        if (older.storage_uri, tag) == (current_uri, current_tag):
            continue
        changes = [Change("storageUri", current_uri, older.storage_uri)]
        if tag and tag != current_tag:
            changes.append(Change("runtimeVersion", current_tag, tag))
        return RollbackPlan(
            mode="spec",
            to_revision=older.name,
            changes=tuple(c for c in changes if c.before != c.after),
            storage_uri=older.storage_uri,
            runtime_version=tag if tag != current_tag else "",
        )
    return None


def plan_from_evidence(isvc: InferenceServiceEvidence) -> RollbackPlan | None:
    """The rollback the evidence supports, None when there is nothing to go back to."""
    if isvc.previous_rolledout_revision:
        return _traffic_plan(
            isvc.previous_rolledout_revision,
            isvc.latest_ready_revision or isvc.latest_created_revision,
            isvc.canary_traffic_percent,
        )
    return _spec_plan(isvc.revisions, isvc.storage_uri, image_tag(isvc.runtime))


def plan_from_status(
    isvc: Mapping[str, Any], history: Sequence[Revision] = ()
) -> RollbackPlan | None:
    """The rollback for a live InferenceService object and its ReplicaSet history."""
    # Any of these fields may be missing or null on a live object.
    spec = p.obj(p.obj(isvc.get("spec")).get("predictor"))
    predictor = p.obj(p.obj(p.obj(isvc.get("status")).get("components")).get("predictor"))
    previous = p.text(predictor.get("previousRolledoutRevision"))
    if previous:
        latest = p.text(predictor.get("latestRolledoutRevision"))
        latest = latest or p.text(predictor.get("latestReadyRevision"))
        canary = spec.get("canaryTrafficPercent")
        return _traffic_plan(previous, latest, int(canary) if canary is not None else None)
    model = p.obj(spec.get("model"))
    return _spec_plan(history, p.text(model.get("storageUri")), p.text(model.get("runtimeVersion")))
