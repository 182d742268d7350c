"""The PostgreSQL store from the command line: `check-config` with TRIAGE_BOT_DATABASE_URL,
and `migrate-store` moving a SQLite installation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.actions.audit import AuditEntry, AuditLog
from bot.actions.ledger import Ledger
from bot.actions.pg_ledger import PostgresLedger
from bot.cli import main
from bot.slack.outbox import SlackTables
from bot.slack.pg_outbox import PgSlackTables
from bot.slack.tables import MessageRef, Op
from bot.store.postgres.migrations import MIGRATIONS
from bot.store.postgres.store import PostgresStore
from bot.store.sqlite import Store
from tests.slack.reports import report
from tests.store.postgres_server import PostgresServer


def _config(tmp_path: Path) -> str:
    config = tmp_path / "bot.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\napi:\n  public: true\n")
    return str(config)


async def test_check_config_opens_and_migrates_postgres_and_says_ok(
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TRIAGE_BOT_DATABASE_URL", postgres_url)
    code = await asyncio.to_thread(main, ["check-config", "--config", _config(tmp_path)])
    assert code == 0
    assert "configuration OK" in capsys.readouterr().out
    store = PostgresStore(postgres_url)
    await store.open()  # the schema is there: the check ran the migrations
    try:
        latest = MIGRATIONS[-1][0]
        assert await store.pool.fetchval("SELECT MAX(version) FROM schema_migrations") == latest
    finally:
        await store.close()


def test_an_unreachable_postgres_fails_the_start_naming_where_without_the_password(
    postgres_server: PostgresServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"postgresql://bot:s3cret-pw@127.0.0.1:{postgres_server.port + 1}/triage"
    monkeypatch.setenv("TRIAGE_BOT_DATABASE_URL", url)
    monkeypatch.setenv("TRIAGE_BOT_DATABASE__CONNECT_TIMEOUT_SECONDS", "2")
    assert main(["check-config", "--config", _config(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"127.0.0.1:{postgres_server.port + 1}/triage cannot be opened" in err
    assert "s3cret-pw" not in err


def test_a_database_url_of_another_scheme_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIAGE_BOT_DATABASE_URL", "mysql://db/triage")
    assert main(["check-config", "--config", _config(tmp_path)]) == 2
    assert "must start with postgresql://" in capsys.readouterr().err


async def _sqlite_installation(path: Path) -> tuple[int, int]:
    """A SQLite store with a triaged and a pending notification, a Slack message, an
    action run and an audit entry: what an installation moving to HA has."""
    store = Store(path)
    await store.open()
    try:
        done = await store.add_notification("g1", "firing", "k1", '{"n": 1}')
        pending = await store.add_notification("g2", "firing", "k2", '{"n": 2}')
        await store.save_report(report(group_key="g1"), finished=done)
        slack = SlackTables(store)
        await slack.ensure()
        first = [Op("message", "#alerts", {"text": "first"})]
        await slack.save_group("G1", report(group_key="g1"), "#alerts", first)
        [head] = await slack.heads()
        await slack.claim("G1", [head.op_id])
        await slack.sent([head.op_id], MessageRef("#alerts", "1700000000.000100", None))
        await slack.save_group(
            "G1", report(group_key="g1"), "#alerts", [Op("message", "#alerts", {"text": "x"})]
        )
        ledger = Ledger(store)
        await ledger.ensure()
        now = datetime.now(UTC)
        await ledger.claim("rollback:G1:wine:2", "models/wine", "rollback", "U1", now)
        await ledger.finish("rollback:G1:wine:2", True, "rolled back", now + timedelta(days=1))
        audit = AuditLog(store)
        await audit.ensure()
        entry = AuditEntry("U1", "ann", "rollback", "G1", "wine", "2", "allowed", "in the list")
        await audit.record(entry)
    finally:
        await store.close()
    return done, pending


async def test_migrate_store_moves_a_sqlite_installation_and_refuses_a_second_time(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "triage-bot.sqlite3"
    done, pending = await _sqlite_installation(path)

    assert await asyncio.to_thread(main, ["migrate-store", str(path), postgres_url]) == 0
    out = capsys.readouterr().out
    assert "notifications 2" in out and "triages 1" in out and "audit_log 1" in out

    store = PostgresStore(postgres_url)
    await store.open()
    try:
        assert [(p.id, p.body) for p in await store.pending()] == [(pending, '{"n": 2}')]
        moved = await store.get_report("g1")
        assert moved is not None and moved.to_dict() == report(group_key="g1").to_dict()
        # A re-send of the triaged notification still collapses after the move.
        assert not (await store.accept("g1", "firing", "k1", "{}")).is_new
        # New rows are numbered past the copied ones.
        assert (await store.accept("g3", "firing", "k3", "{}")).id > pending
        tables = PgSlackTables(store.pool, "r")
        moved_message = await tables.load("G1")
        assert moved_message is not None and moved_message.ts == "1700000000.000100"
        [head] = await tables.heads()
        (op,) = await tables.claim("G1", [head.op_id])
        assert op.ts == "1700000000.000100"  # the pending update edits the same message
        again = await PostgresLedger(store.pool).claim(
            "rollback:G1:wine:2", "models/wine", "rollback", "U1", datetime.now(UTC)
        )
        assert (again.kind, again.result) == ("duplicate", "rolled back")
    finally:
        await store.close()

    assert await asyncio.to_thread(main, ["migrate-store", str(path), postgres_url]) == 2
    assert "already holds notifications" in capsys.readouterr().err


def test_migrate_store_without_a_sqlite_file_names_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.sqlite3"
    assert main(["migrate-store", str(missing), "postgresql://127.0.0.1/x"]) == 2
    assert f"no SQLite store at {missing}" in capsys.readouterr().err


def test_export_case_with_the_postgres_url_set_says_what_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIAGE_BOT_DATABASE_URL", "postgresql://bot@127.0.0.1:1/triage")
    assert main(["export-case", "g", "--config", _config(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "export-case reads a SQLite store" in err and "--data-dir" in err
    assert len(err.splitlines()) == 1
