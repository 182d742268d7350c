"""The audit log's contract on both back ends: SQLite's `actions.audit.AuditLog` and
PostgreSQL's `actions.pg_audit.PgAuditLog` record, finish, list and read feedback alike."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.actions.audit import Audit, AuditEntry, AuditLog
from bot.actions.pg_audit import PgAuditLog
from bot.slack.buttons import group_id
from bot.store.postgres.store import PostgresStore
from bot.store.sqlite import Store


@pytest.fixture(params=["sqlite", "postgres"])
async def audit(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str
) -> AsyncIterator[Audit]:
    if request.param == "sqlite":
        store = Store(tmp_path / "store.sqlite3")
        await store.open()
        log: Audit = AuditLog(store)
        await log.ensure()
        yield log
        await store.close()
    else:
        pg = PostgresStore(postgres_url)
        await pg.open()
        log = PgAuditLog(pg.pool)
        await log.ensure()
        yield log
        await pg.close()


def entry(action: str, arg: str = "", user: str = "U1", decision: str = "allowed") -> AuditEntry:
    return AuditEntry(user, user.lower(), action, group_id("g1"), "models/wine", arg, decision,
                      "in the list", "socket")  # fmt: skip


async def test_entries_are_recorded_finished_and_listed_newest_first(audit: Audit) -> None:
    ref = await audit.record(entry("rollback", "2"))
    await audit.record(entry("retrain", decision="refused"))
    await audit.finish(ref, "ok", "rolled back to 00001" + "x" * 5000)
    rows = await audit.recent()
    assert [(r["action"], r["decision"], r["outcome"]) for r in rows] == [
        ("retrain", "refused", None),
        ("rollback", "allowed", "ok"),
    ]
    done = rows[1]
    assert done["ref"] == ref and len(done["detail"]) == 4000 and done["source"] == "socket"
    assert datetime.fromisoformat(done["at"]) <= datetime.fromisoformat(done["finished_at"])
    json.dumps(rows)  # what GET /api/audit serves: plain JSON on both back ends
    assert [r["action"] for r in await audit.recent(10, "retrain")] == ["retrain"]
    assert len(await audit.recent(1)) == 1


async def test_feedback_is_read_back_per_group_oldest_first(audit: Audit) -> None:
    await audit.record(entry("feedback", "right", "U1"))
    await audit.record(entry("feedback", "wrong", "U7"))
    await audit.record(entry("feedback", "wrong", "U8", decision="invalid"))
    answers = await audit.feedback_for("g1")
    assert [(a.user_id, a.user_name, a.verdict_ok) for a in answers] == [
        ("U1", "u1", True),
        ("U7", "u7", False),
    ]
    assert all(a.at.tzinfo is not None for a in answers)
    assert await audit.feedback_for("another group") == []
