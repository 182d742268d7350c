"""The action ledger's contract on both back ends: SQLite's `actions.ledger.Ledger` and
PostgreSQL's `actions.pg_ledger.PostgresLedger` answer the same claims the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest

from bot.actions.ledger import Claim, Ledger
from bot.actions.pg_ledger import PostgresLedger
from bot.store.postgres.store import PostgresStore
from bot.store.sqlite import Store


class AnyLedger(Protocol):
    async def claim(
        self, key: str, model: str, action: str, user: str, now: datetime, *, exclusive: bool = True
    ) -> Claim: ...

    async def finish(
        self, key: str, ok: bool, result: str, valid_until: datetime | None = None
    ) -> None: ...


@pytest.fixture(params=["sqlite", "postgres"])
async def ledger(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str
) -> AsyncIterator[AnyLedger]:
    if request.param == "sqlite":
        store = Store(tmp_path / "store.sqlite3")
        await store.open()
        sqlite_ledger = Ledger(store)
        await sqlite_ledger.ensure()
        yield sqlite_ledger
        await store.close()
    else:
        pg = PostgresStore(postgres_url)
        await pg.open()
        yield PostgresLedger(pg.pool)
        await pg.close()


NOW = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
KEY = "rollback:G1:wine:2"


async def test_a_running_or_done_run_is_a_duplicate_until_it_expires(ledger: AnyLedger) -> None:
    assert (await ledger.claim(KEY, "models/wine", "rollback", "U1", NOW)).kind == "claimed"
    running = await ledger.claim(KEY, "models/wine", "rollback", "U2", NOW)
    assert (running.kind, running.user_id, running.status) == ("duplicate", "U1", "running")

    await ledger.finish(KEY, True, "rolled back", valid_until=NOW + timedelta(minutes=5))
    done = await ledger.claim(KEY, "models/wine", "rollback", "U2", NOW + timedelta(minutes=1))
    assert (done.kind, done.status, done.result) == ("duplicate", "done", "rolled back")
    later = await ledger.claim(KEY, "models/wine", "rollback", "U2", NOW + timedelta(minutes=6))
    assert later.kind == "claimed"


async def test_an_exclusive_run_keeps_other_exclusive_runs_off_the_model(
    ledger: AnyLedger,
) -> None:
    await ledger.claim(KEY, "models/wine", "rollback", "U1", NOW)
    busy = await ledger.claim("retrain:G1:wine:", "models/wine", "retrain", "U2", NOW)
    assert (busy.kind, busy.action, busy.user_id) == ("busy", "rollback", "U1")
    ack = await ledger.claim("ack:G1::", "models/wine", "ack", "U2", NOW, exclusive=False)
    assert ack.kind == "claimed"
    other = await ledger.claim("rollback:G2:iris:1", "models/iris", "rollback", "U2", NOW)
    assert other.kind == "claimed"


async def test_a_failed_run_may_be_claimed_again(ledger: AnyLedger) -> None:
    await ledger.claim(KEY, "models/wine", "rollback", "U1", NOW)
    await ledger.finish(KEY, False, "forbidden")
    assert (await ledger.claim(KEY, "models/wine", "rollback", "U1", NOW)).kind == "claimed"
