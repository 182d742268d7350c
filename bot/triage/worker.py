"""The triage worker: takes stored notifications off the queue, triages, notifies.

Started and stopped by `app`. Notifications of one alert group are handled in arrival
order (the task that takes a group's first notification drains the group's queue),
different groups in parallel. Each triage first lets the receiver finish the webhooks it
is taking in (`TriageQueue.quiet`, at most `yield_seconds`): acknowledging comes first.
A row is marked done only after the notifier ran, so a crash means at-least-once
delivery, never a lost triage. On start, rows left pending are queued again. A triage
that raises is tried again at once and at every start, up to `max_attempts` counted in
the store (`triage.attempts`); then the row is marked failed with the reason and people
are told "could not triage: ..." with the alert's own text. The notifier only writes
the message to its outbox (`slack.sender` delivers), so Slack never holds triage back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import OrderedDict, deque
from datetime import UTC, datetime

from pydantic import ValidationError

from bot.metrics import BotMetrics
from bot.model.alert import Notification
from bot.model.notifier import Notifier
from bot.model.report import TriageReport
from bot.store.sqlite import Store
from bot.triage.attempts import TriageAttempts, could_not_triage
from bot.triage.changes import describe_change
from bot.triage.pipeline import Pipeline, alert_lines
from bot.triage.queue import QueuedNotification, TriageQueue

log = logging.getLogger(__name__)

REPORT_CACHE = 1024


class TriageWorker:
    """A small pool of tasks consuming the triage queue."""

    def __init__(
        self,
        store: Store,
        queue: TriageQueue,
        pipeline: Pipeline,
        notifier: Notifier,
        metrics: BotMetrics,
        *,
        concurrency: int = 4,
        yield_seconds: float = 0.1,
        max_attempts: int = 3,
    ) -> None:
        self._store = store
        self._queue = queue
        self._pipeline = pipeline
        self._notifier = notifier
        self._metrics = metrics
        self._concurrency = concurrency
        self._yield_seconds = yield_seconds
        self._attempts = TriageAttempts(store)
        self._max_attempts = max_attempts
        self._groups: dict[str, deque[QueuedNotification]] = {}
        self._reports: OrderedDict[str, TriageReport] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy = 0
        self._stopping = False

    async def start(self) -> None:
        """Queue what a previous run left pending, then start consuming."""
        await self._attempts.ensure()
        leftovers = await self._store.pending()
        for row in leftovers:
            self._queue.put_recovered(QueuedNotification(row.id, row.group_key))
        self._metrics.queue_depth.set(self._queue.depth)
        for n in range(self._concurrency):
            task = asyncio.create_task(self._consume(), name=f"triage-worker-{n}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if leftovers:
            log.info("resuming unfinished triages", extra={"count": len(leftovers)})

    async def stop(self, timeout: float) -> None:
        """Let in-flight triages finish (up to `timeout`), then stop; the rest stay pending."""
        self._stopping = True
        deadline = time.monotonic() + timeout
        while self._busy and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _consume(self) -> None:
        while not self._stopping:
            item = await self._queue.get()
            waiting = self._groups.get(item.group_key)
            if waiting is not None:
                # Another task is draining this group: it takes this one, in arrival order.
                waiting.append(item)
                continue
            waiting = self._groups[item.group_key] = deque([item])
            self._busy += 1
            try:
                await self._drain(waiting)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("triage worker error", extra={"group_key": item.group_key})
            finally:
                del self._groups[item.group_key]
                self._busy -= 1

    async def _drain(self, waiting: deque[QueuedNotification]) -> None:
        first = True
        while waiting:
            if self._stopping and not first:  # finish what was taken, leave the rest pending
                return
            first = False
            await self._queue.quiet(self._yield_seconds)
            item = waiting.popleft()
            try:
                notification = await self._notification(item)
                if notification is not None:
                    await self._attempt(item, notification)
            except Exception:
                # The row stays pending (retried at the next start); the group's later
                # notifications still get their triage now.
                log.exception("triage failed", extra={"group_key": item.group_key, "id": item.id})
            finally:
                self._queue.done(item)
                self._metrics.queue_depth.set(self._queue.depth)

    async def _attempt(self, item: QueuedNotification, notification: Notification) -> None:
        while True:
            try:
                await self._process(item.id, item.group_key, notification)
                return
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"[:300]
                log.exception("triage failed", extra={"group_key": item.group_key, "id": item.id})
                attempts = await self._attempts.failed(item.id, reason)
                if attempts >= self._max_attempts:
                    await self._give_up(item, notification, f"{reason} ({attempts} attempts)")
                    return

    async def _give_up(
        self, item: QueuedNotification, notification: Notification, reason: str
    ) -> None:
        """Mark the row failed and post what the alert itself says, with why."""
        report = could_not_triage(notification, reason)
        previous = await self._previous(item.group_key)
        try:
            await self._notifier.notify(report, describe_change(previous, report))
        except Exception:
            self._metrics.notifier_errors.labels(type(self._notifier).__name__).inc()
            log.exception("notifier failed", extra={"group_key": item.group_key})
        await self._store.save_report(report)
        self._remember(report)
        await self._store.finish_notification(item.id, "failed", reason)
        log.error(
            "triage given up", extra={"group_key": item.group_key, "id": item.id, "error": reason}
        )

    async def _notification(self, item: QueuedNotification) -> Notification | None:
        body = item.body if item.body is not None else await self._store.body(item.id)
        if body is None:
            return None
        try:
            return Notification.model_validate_json(body)
        except ValidationError as exc:  # stored by an older version with other rules
            await self._store.finish_notification(item.id, "failed", str(exc)[:500])
            return None

    async def _process(self, ident: int, group_key: str, notification: Notification) -> None:
        began = time.perf_counter()
        previous = await self._previous(group_key)
        report = await self._triage(notification, previous)
        self._metrics.triage_seconds.observe(time.perf_counter() - began)
        self._metrics.triages.labels(report.verdict.category).inc()
        for result in report.results:
            if result.note:
                self._metrics.collector_notes.labels(result.collector).inc()
        change = describe_change(previous, report)
        # Notify (write the message to the outbox) before the row is marked done: a crash in
        # between repeats a message (at least once) instead of losing one. A notifier that
        # raises fails the attempt, so the triage is tried again rather than dropped.
        try:
            await self._notifier.notify(report, change)
        except Exception:
            self._metrics.notifier_errors.labels(type(self._notifier).__name__).inc()
            raise
        await self._store.save_report(report, finished=ident)
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
        # The worker is the only writer of triages, so its cache is never stale.
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
