"""Warning events about the model's pods, its InferenceService and its revisions.

`EventsCollector` is called by the triage pipeline. One list call per triage: the
namespace's Warning events (events.k8s.io/v1, read as plain JSON so the `eventTime: null`
of core events cannot break it), kept when they regard the target or an object named
after it (`wine-predictor-00003-deployment-...`). Repeats are merged with their counts.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

from bot.cluster import parsing as p
from bot.cluster.pods import inference_service_of
from bot.cluster.reader import JSON, KubeReader
from bot.model.cluster_evidence import EventsEvidence, KubeEvent
from bot.model.collector import TriageContext, workload_namespace
from bot.model.target import Target
from bot.redaction import redact

MAX_EVENTS = 20


def parse_event(event: JSON) -> KubeEvent:
    """A `KubeEvent` from an events.k8s.io/v1 or a core/v1 event."""
    regarding = p.obj(event.get("regarding")) or p.obj(event.get("involvedObject"))
    series = p.obj(event.get("series"))
    count = series.get("count") or event.get("deprecatedCount") or event.get("count") or 1
    seen = (
        p.timestamp(series.get("lastObservedTime"))
        or p.timestamp(event.get("deprecatedLastTimestamp"))
        or p.timestamp(event.get("lastTimestamp"))
        or p.timestamp(event.get("eventTime"))
        or p.timestamp(p.obj(event.get("metadata")).get("creationTimestamp"))
    )
    return KubeEvent(
        reason=p.text(event.get("reason")),
        # Redacted before the cut: half a secret has no shape left to recognise.
        message=redact(p.text(event.get("note")) or p.text(event.get("message")))[:600],
        object_kind=p.text(regarding.get("kind")),
        object_name=p.text(regarding.get("name")),
        count=int(count) if isinstance(count, int) else 1,
        last_seen=seen,
        type=p.text(event.get("type")) or "Warning",
    )


def concerns(target: Target, object_name: str) -> bool:
    """True when an event's object is the target or named after it."""
    if target.pod and object_name == target.pod:
        return True
    stem = target.inference_service or target.deployment
    return bool(stem) and (object_name == stem or object_name.startswith(f"{stem}-"))


def merge_repeats(events: list[KubeEvent]) -> tuple[KubeEvent, ...]:
    """One event per (object, reason, message), counts summed, newest first."""
    merged: dict[tuple[str, str, str], KubeEvent] = {}
    for event in events:
        key = (event.object_name, event.reason, event.message)
        seen = merged.get(key)
        if seen is None:
            merged[key] = event
            continue
        last = max((t for t in (seen.last_seen, event.last_seen) if t), default=None)
        merged[key] = replace(event, count=seen.count + event.count, last_seen=last)
    oldest = datetime.min.replace(tzinfo=UTC)
    return tuple(sorted(merged.values(), key=lambda e: e.last_seen or oldest, reverse=True))


class EventsCollector:
    """Collects `EventsEvidence` for the alert's workload."""

    name = "Kubernetes events"

    def __init__(self, reader: KubeReader, timeout: float) -> None:
        self._reader = reader
        self.timeout = timeout

    async def collect(self, context: TriageContext) -> EventsEvidence | None:
        """Warning events about the target; None when the alert names no workload."""
        target = context.target
        namespace = workload_namespace(target)
        if namespace is None:
            return None
        raw, isvc = await asyncio.gather(
            self._reader.warning_events(namespace), inference_service_of(context, self._reader)
        )
        if isvc:  # an alert on one pod: the events of the whole model tell the scope
            target = replace(target, inference_service=isvc)
        events = [parse_event(e) for e in raw]
        relevant = [e for e in events if e.type == "Warning" and concerns(target, e.object_name)]
        return EventsEvidence(events=merge_repeats(relevant)[:MAX_EVENTS])
