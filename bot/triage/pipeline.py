"""Runs the collectors of one alert group and decides: notification in, report out.

Called by `triage.worker` (the service) and by `cli triage` (offline). Collectors run
concurrently, each under its own timeout, all inside an overall budget; a collector that
fails or overruns leaves a note and never stops the rest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bot.model.alert import Notification
from bot.model.collector import Collector, CollectorError, TriageContext
from bot.model.evidence import Evidence, Verdict
from bot.model.report import AlertLine, TriageReport
from bot.model.results import CollectorResult
from bot.model.target import Target, TargetLabels
from bot.redaction import redact, redact_value
from bot.triage.target import resolve_target

log = logging.getLogger(__name__)

Decide = Callable[[Target, Sequence[Evidence], Notification], Verdict]


def alert_lines(notification: Notification) -> tuple[AlertLine, ...]:
    """What a person reads of each alert in the notification."""
    return tuple(
        AlertLine(
            name=a.labels.get("alertname", ""),
            status=a.status,
            severity=a.labels.get("severity", ""),
            summary=a.annotations.get("summary") or a.annotations.get("description", ""),
            starts_at=a.starts_at,
            ends_at=a.ends_at if a.has_ended else None,
            generator_url=a.generator_url,
            labels=dict(a.labels),
        )
        for a in notification.alerts
    )


async def _run_one(collector: Collector, context: TriageContext, budget: float) -> CollectorResult:
    limit = min(collector.timeout, budget)
    began = time.perf_counter()
    try:
        evidence = await asyncio.wait_for(collector.collect(context), timeout=limit)
    except TimeoutError:
        note = f"timeout after {limit:g} s"
        return CollectorResult(collector.name, note=note, seconds=time.perf_counter() - began)
    except CollectorError as exc:
        note = redact(str(exc))  # the redaction boundary: notes quote the cluster
        return CollectorResult(collector.name, note=note, seconds=time.perf_counter() - began)
    except Exception as exc:  # a bug in one collector must not cost the whole triage
        log.exception("collector failed", extra={"collector": collector.name})
        note = redact(f"failed: {type(exc).__name__}: {exc}")
        return CollectorResult(collector.name, note=note, seconds=time.perf_counter() - began)
    evidence = redact_value(evidence)  # the redaction boundary for every evidence string
    return CollectorResult(collector.name, evidence=evidence, seconds=time.perf_counter() - began)


class Pipeline:
    """Collectors plus a decision function, with a time budget."""

    def __init__(
        self,
        collectors: Sequence[Collector],
        decide: Decide,
        *,
        budget_seconds: float = 8.0,
        labels: TargetLabels | None = None,
    ) -> None:
        self._collectors = tuple(collectors)
        self._decide = decide
        self._budget = budget_seconds
        self._labels = labels or TargetLabels()

    async def run(self, notification: Notification) -> TriageReport:
        """Triage one notification; never raises for a collector's failure."""
        started = datetime.now(UTC)
        labels = {**notification.common_labels, **notification.group_labels}
        target = resolve_target(labels, self._labels)
        context = TriageContext(
            notification=notification,
            target=target,
            alert_start=notification.earliest_start(),
            now=started,
        )
        try:
            results = await asyncio.gather(
                *(_run_one(c, context, self._budget) for c in self._collectors)
            )
        finally:
            context.shared.cancel()
        evidence = [r.evidence for r in results if r.evidence is not None]
        verdict = self._decide(target, evidence, notification)
        return TriageReport(
            group_key=notification.group_key,
            status=notification.status,
            receiver=notification.receiver,
            alertname=notification.alertname,
            severity=notification.common_labels.get("severity", ""),
            target=target,
            alerts=alert_lines(notification),
            truncated_alerts=notification.truncated_alerts,
            results=tuple(results),
            verdict=verdict,
            started_at=started,
            finished_at=datetime.now(UTC),
            external_url=notification.external_url,
            common_labels=dict(notification.common_labels),
            common_annotations=dict(notification.common_annotations),
        )
