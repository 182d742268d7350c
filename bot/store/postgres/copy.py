"""`triage-bot migrate-store SQLITE_PATH POSTGRES_URL`: move an installation to PostgreSQL.

Registered in `cli.COMMANDS`. Copies every table the SQLite store holds (notifications,
triages, triage attempts, the Slack outbox and messages, action runs, the audit log, drift
evaluations) into a PostgreSQL database in one transaction, after bringing its schema
up; a database that already holds notifications or triages is refused, so a second run
cannot double anything. Ids are kept, and each sequence restarts past the largest.
Stop the bot first: a store being written is copied as of the start of the read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from bot.store.postgres.setup import where
from bot.store.postgres.store import PostgresStore

Convert = Callable[[Any], Any]


def _time(value: Any) -> Any:
    return None if value is None else datetime.fromisoformat(str(value))


def _flag(value: Any) -> Any:
    return None if value is None else bool(value)


def _json(value: Any) -> Any:
    return None if value is None else json.dumps(json.loads(value))


# table -> (columns, the conversion of each where SQLite's type is not PostgreSQL's,
# the sequence to move past the copied ids)
TABLES: dict[str, tuple[tuple[str, ...], dict[str, Convert], str | None]] = {
    "notifications": (
        ("id", "group_key", "status", "dedup_key", "received_at", "body", "state")
        + ("processed_at", "error"),
        {"received_at": _time, "processed_at": _time},
        "notifications_id_seq",
    ),
    "triages": (
        ("group_key", "status", "alertname", "severity", "alert_count", "truncated_alerts")
        + ("verdict", "confidence", "notifications", "first_seen", "updated_at")
        + ("resolved_at", "report"),
        {"report": _json},
        None,
    ),
    "triage_attempts": (
        ("notification_id", "attempts", "last_error", "updated_at"),
        {"updated_at": _time},
        None,
    ),
    "slack_messages": (
        ("group_id", "group_key", "channel", "ts", "report", "state", "updated_at"),
        {"report": _json, "updated_at": _time},
        None,
    ),
    "slack_outbox": (
        ("id", "group_id", "kind", "channel", "body", "data", "created_at", "state")
        + ("attempts", "last_error"),
        {"body": _json, "created_at": _time},
        "slack_outbox_id_seq",
    ),
    "action_runs": (
        ("key", "model", "action", "user_id", "exclusive", "status", "started_at")
        + ("finished_at", "valid_until", "result"),
        {"exclusive": _flag, "started_at": _time, "finished_at": _time, "valid_until": _time},
        None,
    ),
    "audit_log": (
        ("id", "ref", "at", "user_id", "user_name", "action", "group_id", "target", "arg")
        + ("decision", "reason", "outcome", "detail", "finished_at", "source"),
        {"at": _time, "finished_at": _time},
        "audit_log_id_seq",
    ),
    "drift_evaluations": (
        ("id", "namespace", "model", "evaluated_at", "drift_share", "dataset_drift")
        + ("prediction_drift", "window_rows", "accuracy", "mae", "evaluation"),
        {
            "evaluated_at": _time,
            "dataset_drift": _flag,
            "prediction_drift": _flag,
            "evaluation": _json,
        },
        "drift_evaluations_id_seq",
    ),
}
# JSON columns are cast on the way in (asyncpg sends text for them).
_CASTS = {"report": "::jsonb", "body": "::jsonb", "evaluation": "::jsonb"}


class MigrationRefused(Exception):
    """The copy cannot be made (the message says why); nothing was written."""


def read_sqlite(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every known table's rows, converted for PostgreSQL (tables never created: none)."""
    if not path.is_file():
        raise MigrationRefused(f"no SQLite store at {path}")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        present = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        rows: dict[str, list[tuple[Any, ...]]] = {}
        for table, (columns, converts, _) in TABLES.items():
            if table not in present:
                continue
            order = "ORDER BY id" if "id" in columns else ""
            raw = db.execute(f"SELECT {', '.join(columns)} FROM {table} {order}").fetchall()
            rows[table] = [
                tuple(converts.get(c, _same)(v) for c, v in zip(columns, row, strict=True))
                for row in raw
            ]
    except sqlite3.DatabaseError as exc:
        raise MigrationRefused(f"{path} cannot be read as a triage-bot store: {exc}") from None
    finally:
        db.close()
    return rows


def _same(value: Any) -> Any:
    return value


async def copy_into(url: str, rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, int]:
    """Migrate the PostgreSQL schema, then insert every row in one transaction."""
    store = PostgresStore(url)
    await store.open()
    try:
        async with store.pool.acquire() as conn, conn.transaction():
            used = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM notifications) OR EXISTS (SELECT 1 FROM triages)"
            )
            if used:
                raise MigrationRefused(
                    f"the PostgreSQL store at {where(url)} already holds notifications or"
                    " triages: migrate into an empty database"
                )
            for table, (columns, _, sequence) in TABLES.items():
                if not rows.get(table):
                    continue
                marks = ", ".join(f"${i + 1}{_CASTS.get(c, '')}" for i, c in enumerate(columns))
                await conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows[table]
                )
                if sequence is not None:
                    await conn.execute(
                        f"SELECT setval('{sequence}', (SELECT MAX(id) FROM {table}))"
                    )
            # Dedup keys of the copied notifications, so a re-send right after the move
            # still collapses with what the SQLite store had accepted.
            await conn.execute(
                "INSERT INTO notification_keys (dedup_key, notification_id, received_at)"
                " SELECT DISTINCT ON (dedup_key) dedup_key, id, received_at FROM notifications"
                " ORDER BY dedup_key, id DESC"
            )
    finally:
        await store.close()
    return {table: len(found) for table, found in rows.items()}


def arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    parser.add_argument("sqlite_path", type=Path, metavar="SQLITE_PATH")
    parser.add_argument("postgres_url", metavar="POSTGRES_URL")


def run(args: argparse.Namespace) -> int:
    """Copy, print what was copied; 2 when refused, 1 when PostgreSQL failed."""
    url: str = args.postgres_url
    if not url.startswith(("postgresql://", "postgres://")):
        return _fail("POSTGRES_URL must start with postgresql://", 2)
    try:
        counts = asyncio.run(copy_into(url, read_sqlite(args.sqlite_path)))
    except MigrationRefused as exc:
        return _fail(str(exc), 2)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        reason = str(exc).replace(url, where(url)) or type(exc).__name__
        return _fail(f"PostgreSQL store at {where(url)}: {reason}", 1)
    copied = ", ".join(f"{table} {n}" for table, n in counts.items())
    sys.stdout.write(f"copied {args.sqlite_path} into {where(url)}: {copied}\n")
    return 0


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"triage-bot: {message}\n")
    return code
