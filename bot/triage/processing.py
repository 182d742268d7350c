"""One notification's triage, the same on both back ends: parse, triage, notify, record.

Used by `triage.worker` for every notification it takes, whether the in-memory queue
(SQLite) or a group lease (PostgreSQL, `triage.leased`) handed it over. What differs
between the two is only how the result is recorded, a `Record`: on SQLite the report and
the row's new state go to the store in one commit; on PostgreSQL in one transaction that
also checks the group's lease is still this replica's, so a replica whose lease was taken
over never records its late result. A triage that raises is tried again at once, up to
`max_attempts` counted in the store (so restarts and other replicas count too); then the
row is marked failed and people are told "could not triage: ..." with the alert's text.
The notifier only writes the message to its outbox (`slack.sender` delivers), so Slack
never holds triage back.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Protocol

from pydantic import ValidationError

from bot.metrics import BotMetrics
from bot.model.alert import Notification
from bot.model.notifier import Notifier
from bot.model.report import TriageReport
from bot.store.interface import NotificationStore
from bot.triage.attempts import could_not_triage
from bot.triage.changes import describe_change
from bot.triage.pipeline import Pipeline, alert_lines

log = logging.getLogger(__name__)

REPORT_CACHE = 1024


class Record(Protocol):
    """How a triage's outcome is recorded for one notification (per back end)."""

    async def still_ours(self) -> bool:
        """Whether this process may still tell people (a lease not lost); before notifying."""

    async def done(self, notification_id: int, report: TriageReport) -> bool:
        """Save the report and mark the notification done together; False: not recorded."""

    async def failed(self, notification_id: int, reason: str, report: TriageReport | None) -> bool:
        """Mark the notification failed (saving `report` with it); False: not recorded."""


class StoreRecord:
    """The single-writer record: straight to the store (SQLite, one process)."""

    def __init__(self, store: NotificationStore) -> None:
        self._store = store

    async def still_ours(self) -> bool:
        """Always: nobody else triages this store's notifications."""
        return True

    async def done(self, notification_id: int, report: TriageReport) -> bool:
        """Save the report and mark the notification done in one commit."""
        await self._store.save_report(report, finished=notification_id)
        return True

    async def failed(self, notification_id: int, reason: str, report: TriageReport | None) -> bool:
        """Save the could-not-triage report, then mark the notification failed."""
        if report is not None:
            await self._store.save_report(report)
        await self._store.finish_notification(notification_id, "failed", reason)
        return True


class Triager:
    """Triages one notification at a time for the worker's tasks.

    `cache_reports` keeps each group's latest report in memory: right only when this
    process is the one writer of triages (SQLite); with replicas it is off.
    """

    def __init__(
        self,
        store: NotificationStore,
        pipeline: Pipeline,
        notifier: Notifier,
        metrics: BotMetrics,
        *,
        max_attempts: int = 3,
        cache_reports: bool = True,
    ) -> None:
        self._store = store
        self._pipeline = pipeline
        self._notifier = notifier
        self._metrics = metrics
        self._max_attempts = max_attempts
        self._cache = cache_reports
        self._reports: OrderedDict[str, TriageReport] = OrderedDict()

    async def handle(
        self, ident: int, group_key: str, body: bytes | str | None, record: Record
    ) -> None:
        """Triage notification `ident` (its `body`, else read back) and record the outcome.

        Raises only when the store fails (the row stays pending for a later try).
        """
        if body is None:
            body = await self._store.body(ident)
            if body is None:  # no longer pending: done meanwhile
                return
        try:
            notification = Notification.model_validate_json(body)
        except ValidationError as exc:  # stored by an older version with other rules
            await record.failed(ident, str(exc)[:500], None)
            return
        await self._attempt(ident, group_key, notification, record)

    async def _attempt(
        self, ident: int, group_key: str, notification: Notification, record: Record
    ) -> None:
        while True:
            try:
                await self._process(ident, group_key, notification, record)
                return
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"[:300]
                log.exception("triage failed", extra={"group_key": group_key, "id": ident})
                attempts = await self._store.failed_attempt(ident, reason)
                if attempts >= self._max_attempts:
                    await self._give_up(ident, group_key, notification, record, reason, attempts)
                    return

    async def _give_up(
        self,
        ident: int,
        group_key: str,
        notification: Notification,
        record: Record,
        reason: str,
        attempts: int,
    ) -> None:
        """Mark the row failed and post what the alert itself says, with why."""
        reason = f"{reason} ({attempts} attempts)"
        report = could_not_triage(notification, reason)
        previous = await self._previous(group_key)
        if await record.still_ours():
            try:
                await self._notifier.notify(report, describe_change(previous, report))
            except Exception:
                self._metrics.notifier_errors.labels(type(self._notifier).__name__).inc()
                log.exception("notifier failed", extra={"group_key": group_key})
        if await record.failed(ident, reason, report):
            self._remember(report)
        log.error("triage given up", extra={"group_key": group_key, "id": ident, "error": reason})

    async def _process(
        self, ident: int, group_key: str, notification: Notification, record: Record
    ) -> None:
        began = time.perf_counter()
        previous = await self._previous(group_key)
        report = await self._triage(notification, previous)
        self._metrics.triage_seconds.observe(time.perf_counter() - began)
        self._metrics.triages.labels(report.verdict.category).inc()
        for result in report.results:
            if result.note:
                self._metrics.collector_notes.labels(result.collector).inc()
        change = describe_change(previous, report)
        if not await record.still_ours():
            log.warning("lease lost: triage not told", extra={"group_key": group_key, "id": ident})
            return
        # Notify (write the message to the outbox) before the row is marked done: a crash in
        # between repeats a message (at least once) instead of losing one. A notifier that
        # raises fails the attempt, so the triage is tried again rather than dropped.
        try:
            await self._notifier.notify(report, change)
        except Exception:
            self._metrics.notifier_errors.labels(type(self._notifier).__name__).inc()
            raise
        if not await record.done(ident, report):
            log.warning("lease lost: result not recorded", extra={"group_key": group_key})
            return
        self._remember(report)
        log.info(
            "triage finished",
            extra={
                "group_key": group_key,
                "status": report.status,
                "verdict": report.verdict.category,
                "change": change.kind,
            },
        )

    async def _previous(self, group_key: str) -> TriageReport | None:
        report = self._reports.get(group_key)
        if report is None:
            try:
                report = await self._store.get_report(group_key)
            except (ValueError, KeyError, TypeError) as exc:
                # A row written by another version: triage afresh rather than never again.
                log.warning(
                    "stored triage unreadable, starting over",
                    extra={"group_key": group_key, "error": str(exc)[:200]},
                )
        return report

    def _remember(self, report: TriageReport) -> None:
        if not self._cache:
            return
        self._reports[report.group_key] = report
        self._reports.move_to_end(report.group_key)
        while len(self._reports) > REPORT_CACHE:
            self._reports.popitem(last=False)

    async def _triage(
        self, notification: Notification, previous: TriageReport | None
    ) -> TriageReport:
        if notification.status == "resolved" and previous is not None:
            # The incident is over: keep the diagnosis made while it fired, new alert states.
            now = datetime.now(UTC)
            return dataclasses.replace(
                previous,
                status="resolved",
                alerts=alert_lines(notification),
                truncated_alerts=notification.truncated_alerts,
                started_at=now,
                finished_at=now,
            )
        return await self._pipeline.run(notification)
