"""What rolled out shortly before the alert, what it changed, and a safe place to go back to.

Called by `triage.verdict` (pure). A change is the newest revision created within
`ROLLOUT_WINDOW` before the alert, else a spec change in that window. A rollback target
must exist, be ready, differ from the new revision and show no ongoing failure: advice
that sends traffic to a failing revision is worse than none.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.model.findings import duration
from bot.model.kserve_evidence import RAW_MODES, InferenceServiceEvidence, Revision

ROLLOUT_WINDOW = timedelta(minutes=60)  # a change this long before the alert is "recent"
ROLLOUT_GRACE = timedelta(minutes=5)  # alert start is approximate (the `for:` clause)
CANARY_WINDOW = timedelta(days=1)  # a canary still splitting traffic is a rollout this long


@dataclass(frozen=True)
class Change:
    """A revision (or spec change) shortly before the alert."""

    revision: str
    at: datetime
    line: str
    isvc: InferenceServiceEvidence
    changed: tuple[str, ...] = ()  # what differs from the revision before: image, storageUri, env
    pending: bool = False  # a spec KServe has not rolled out: nothing to roll back to


def _when(what: str, at: datetime, start: datetime) -> str:
    if at <= start:
        return f"{what} {duration(start - at)} before the alert"
    return f"{what} {duration(at - start)} after the alert started"


def _differences(old: Revision, new: Revision) -> tuple[str, ...]:
    out = []
    if old.image and new.image and old.image != new.image:
        out.append(f"image {old.image} → {new.image}")
    if old.storage_uri and new.storage_uri and old.storage_uri != new.storage_uri:
        out.append(f"storageUri {old.storage_uri} → {new.storage_uri}")
    before = dict(e.split("=", 1) for e in old.env if "=" in e)
    after = dict(e.split("=", 1) for e in new.env if "=" in e)
    names = sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))
    if names:
        out.append("env " + ", ".join(names[:6]) + (" …" if len(names) > 6 else ""))
    old_args = dict(a.split("=", 1) for a in old.args if "=" in a)
    new_args = dict(a.split("=", 1) for a in new.args if "=" in a)
    flags = sorted(
        f for f in old_args.keys() | new_args.keys() if old_args.get(f) != new_args.get(f)
    )
    if flags:
        shown = [_flag(f, old_args.get(f), new_args.get(f)) for f in flags[:6]]
        out.append("args " + ", ".join(shown) + (" …" if len(flags) > 6 else ""))
    return tuple(out)


def _flag(name: str, old: str | None, new: str | None) -> str:
    """`--max-model-len=32768 (was 8192)`; a value known only by digest shows as the name."""
    if new is None:
        return f"{name} (removed)"
    if new.startswith("#"):
        return name
    return f"{name}={new}" + (
        f" (was {old})" if old is not None and not old.startswith("#") else ""
    )


def pending_spec(isvc: InferenceServiceEvidence) -> str:
    """A name for a spec change KServe has not rolled out (refused or still pending), or ""."""
    gen, seen = isvc.generation, isvc.observed_generation
    status = isvc.model_status
    refused = status is not None and status.transition_status == "InvalidSpec"
    if refused or (gen is not None and seen is not None and gen > seen):
        return f"{isvc.name} generation {gen}" if gen is not None else f"{isvc.name} (new spec)"
    return ""


def _canary(isvc: InferenceServiceEvidence, start: datetime) -> Change | None:
    """A canary still taking part of the traffic is a rollout in progress, however old."""
    split = [t for t in isvc.traffic if t.latest and 0 < t.percent < 100]
    if not split:
        return None
    revision = next((r for r in isvc.revisions if r.name == split[0].revision), None)
    if revision is None or revision.created_at is None:
        return None
    if not start - CANARY_WINDOW <= revision.created_at <= start + ROLLOUT_GRACE:
        return None
    at = revision.created_at
    older = [r for r in isvc.revisions if r.created_at and r.created_at < at]
    changed = _differences(older[-1], revision) if older else ()
    line = _when(
        f"canary revision {revision.name} ({split[0].percent}% of traffic) rolled out", at, start
    )
    return Change(revision.name, at, line, isvc, changed)


def recent_change(isvc: InferenceServiceEvidence | None, start: datetime) -> Change | None:
    """The newest revision (else spec change) within `ROLLOUT_WINDOW` before the alert."""
    if isvc is None:
        return None
    lo, hi = start - ROLLOUT_WINDOW, start + ROLLOUT_GRACE
    recent = [r for r in isvc.revisions if r.created_at and lo <= r.created_at <= hi]
    if recent:
        newest = max(recent, key=lambda r: r.created_at or start)
        at = newest.created_at or start
        older = [r for r in isvc.revisions if r.created_at and r.created_at < at]
        changed = _differences(older[-1], newest) if older else ()
        line = _when(f"revision {newest.name} rolled out", at, start)
        return Change(newest.name, at, line, isvc, changed)
    canary = _canary(isvc, start)
    if canary is not None:
        return canary
    changed_at = isvc.spec_changed_at
    pending = pending_spec(isvc)
    if pending:
        serving = isvc.latest_ready_revision or "the previous revision"
        line = f"the spec of {isvc.name} changed ({pending}) and was not rolled out; "
        line += f"{serving} still serves"
        return Change(pending, changed_at or start, line, isvc, pending=True)
    if changed_at and lo <= changed_at <= hi:
        line = _when(f"the spec of {isvc.name} changed", changed_at, start)
        return Change(isvc.latest_created_revision, changed_at, line, isvc)
    return None


def rollback_target(isvc: InferenceServiceEvidence, bad: str, failing: Set[str]) -> tuple[str, str]:
    """A revision safe to roll back to, or "" and the reason there is none."""
    known = {r.name: r for r in isvc.revisions}
    named = [isvc.previous_rolledout_revision, isvc.latest_ready_revision]
    older = sorted(
        (r for r in isvc.revisions if r.name != bad),
        key=lambda r: (r.created_at is None, r.created_at),
        reverse=True,
    )
    rejected: list[str] = []
    component = _component(bad)
    for name in [*named, *(r.name for r in older)]:
        if not name or name == bad or name in rejected:
            continue
        if component and _component(name) != component:
            continue  # a transformer goes back to a transformer, a predictor to a predictor
        revision = known.get(name)
        if known and revision is None:
            rejected.append(name)  # gone: garbage-collected or never existed
            continue
        if name in failing:
            rejected.append(name)
            continue
        # A ReplicaSet scaled to zero reports no readiness (None): it is still whole.
        if revision is not None and revision.ready is False:
            rejected.append(name)
            continue
        return name, ""
    if rejected:
        return "", "no healthy earlier revision to roll back to (" + ", ".join(
            rejected
        ) + " not ready or failing)"
    return "", "no earlier revision is known"


def _component(name: str) -> str:
    """`x-transformer` of `x-transformer-00004` (or of a ReplicaSet `x-predictor-7f8d9c6b5`)."""
    head, _, tail = name.rpartition("-")
    return head if head and (tail.isdigit() or len(tail) >= 8) else ""


def rollback_how(isvc: InferenceServiceEvidence) -> str:
    """How KServe rolls back in the InferenceService's deployment mode."""
    if isvc.deployment_mode in RAW_MODES:
        return "restore the previous predictor spec"
    return "set canaryTrafficPercent: 0 so KServe sends all traffic to it"
