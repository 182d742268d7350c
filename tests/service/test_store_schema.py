"""The store opens a database written by an earlier version and finds what it left."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.store.sqlite import Store

EARLIER_SCHEMA = """
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY, group_key TEXT NOT NULL, status TEXT NOT NULL,
    dedup_key TEXT NOT NULL, received_at TEXT NOT NULL, body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', processed_at TEXT, error TEXT
);
CREATE INDEX notifications_pending ON notifications(state, group_key, id);
"""


async def test_an_earlier_database_keeps_its_pending_rows_and_loses_the_old_index(
    tmp_path: Path,
) -> None:
    path = tmp_path / "triage-bot.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(EARLIER_SCHEMA)
        db.executemany(
            "INSERT INTO notifications (id, group_key, status, dedup_key, received_at, body,"
            " state) VALUES (?, ?, 'firing', ?, '2026-11-24T19:00:00+00:00', '{}', ?)",
            [(1, "g1", "k1", "done"), (2, "g2", "k2", "pending"), (3, "g1", "k3", "pending")],
        )
    store = Store(path)
    await store.open()
    try:
        assert [(p.id, p.group_key) for p in await store.pending()] == [(2, "g2"), (3, "g1")]
        await store.finish_notification(2, "done")
        assert [p.id for p in await store.pending()] == [3]
        async with store.connection.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM notifications WHERE state = 'pending' ORDER BY id"
        ) as cur:
            plan = " ".join(str(row[-1]) for row in await cur.fetchall())
    finally:
        await store.close()
    assert "notifications_pending_ids" in plan
    with sqlite3.connect(path) as db:
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "notifications_pending" not in indexes
