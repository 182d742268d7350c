"""The store interface, one suite for both back ends (sqlite, postgres): what the receiver,
the worker and the API rely on."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.store.interface import NotificationStore
from bot.store.postgres.store import PostgresStore
from bot.store.sqlite import Store
from tests.slack.reports import report


async def test_a_notification_is_pending_until_its_triage_is_saved(
    any_store: NotificationStore,
) -> None:
    first = await any_store.add_notification("g1", "firing", "k1", '{"n": 1}')
    second = await any_store.add_notification("g2", "firing", "k2", '{"n": 2}')
    assert second > first
    assert [(p.id, p.group_key, p.body) for p in await any_store.pending()] == [
        (first, "g1", '{"n": 1}'),
        (second, "g2", '{"n": 2}'),
    ]
    assert await any_store.body(first) == '{"n": 1}'

    await any_store.save_report(report(group_key="g1"), finished=first)

    assert [p.id for p in await any_store.pending()] == [second]
    assert await any_store.body(first) is None


async def test_a_failed_notification_leaves_the_pending_list(any_store: NotificationStore) -> None:
    ident = await any_store.add_notification("g1", "firing", "k1", "{}")
    await any_store.finish_notification(ident, "failed", "year 0001 overflows")
    assert await any_store.pending() == []


async def test_the_triage_row_keeps_the_latest_report_and_counts_notifications(
    any_store: NotificationStore,
) -> None:
    assert await any_store.get_report("g1") is None
    await any_store.save_report(report(group_key="g1", status="firing"))
    await any_store.save_report(report(group_key="g1", status="resolved"))

    saved = await any_store.get_report("g1")
    assert saved is not None and saved.status == "resolved"
    assert saved.to_dict() == report(group_key="g1", status="resolved").to_dict()
    (row,) = await any_store.list_triages()
    assert row["group_key"] == "g1"
    assert row["notifications"] == 2
    assert row["status"] == "resolved"
    assert row["summary"] == "New revision broke the model"
    assert row["resolved_at"] is not None


async def test_triages_are_listed_newest_first_up_to_the_limit(
    any_store: NotificationStore,
) -> None:
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    for i in range(3):
        at = t0 + timedelta(minutes=i)
        await any_store.save_report(report(group_key=f"g{i}", started_at=at, finished_at=at))
    listed = await any_store.list_triages(limit=2)
    assert [r["group_key"] for r in listed] == ["g2", "g1"]


async def test_recent_dedup_keys_come_back_with_their_time(any_store: NotificationStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    await any_store.add_notification("g1", "firing", "k1", "{}")
    await any_store.add_notification("g2", "firing", "k2", "{}")
    keys = dict(await any_store.recent_dedup_keys(before))
    assert set(keys) == {"k1", "k2"}
    assert all(at >= before for at in keys.values())
    assert await any_store.recent_dedup_keys(datetime.now(UTC) + timedelta(minutes=1)) == []


async def test_a_reopened_store_still_has_what_was_committed(
    any_store: NotificationStore,
) -> None:
    ident = await any_store.add_notification("g1", "firing", "k1", '{"kept": true}')
    await any_store.close()
    await any_store.open()
    assert [(p.id, p.body) for p in await any_store.pending()] == [(ident, '{"kept": true}')]


async def test_failed_attempts_are_counted_per_notification(any_store: NotificationStore) -> None:
    first = await any_store.add_notification("g1", "firing", "k1", "{}")
    second = await any_store.add_notification("g1", "firing", "k2", "{}")
    assert await any_store.failed_attempt(first, "OverflowError: date value out of range") == 1
    assert await any_store.failed_attempt(first, "OverflowError: again") == 2
    assert await any_store.failed_attempt(second, "KeyError: x") == 1


async def test_an_open_store_is_reachable_and_a_closed_one_says_why_not(
    any_store: NotificationStore,
) -> None:
    assert await any_store.unreachable() is None
    await any_store.close()
    try:
        problem = await any_store.unreachable()
        assert problem is not None and "not open" in problem
    finally:
        await any_store.open()


async def test_a_report_stored_by_the_previous_version_reads_back(
    any_store: NotificationStore,
) -> None:
    # The `triages.report` value the code before the evidence union wrote (every kind),
    # put in place with the back end's own SQL; PostgreSQL keeps it as JSONB.
    stored = (Path(__file__).parent.parent / "fixtures" / "stored-report.json").read_text()
    key = json.loads(stored)["group_key"]
    await any_store.save_report(report(group_key=key))
    if isinstance(any_store, PostgresStore):
        update = "UPDATE triages SET report = $1::jsonb WHERE group_key = $2"
        await any_store.pool.execute(update, stored, key)
    else:
        assert isinstance(any_store, Store)
        with sqlite3.connect(any_store.path) as db:
            db.execute("UPDATE triages SET report = ? WHERE group_key = ?", (stored, key))

    again = await any_store.get_report(key)

    assert again is not None
    assert [e.kind for e in again.evidence()] == [
        "inference_service",
        "pods",
        "events",
        "logs",
        "nodes",
        "autoscaler",
        "metrics",
        "drift",
    ]
    assert again.to_dict() == json.loads(stored)
