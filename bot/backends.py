"""Which class serves each table: SQLite by default, PostgreSQL with `database_url`.

Called by `app` (the composition root) only. `open_backends` builds the store the
settings ask for; the small functions below choose, for each feature, the class of its
tables on that back end (one function per feature, so a feature's choice is made here
and nowhere else). With PostgreSQL every table is shared by the replicas (notifications,
triages, leases, the Slack outbox, the audit log, the action ledger, the drift windows and
history): a replica keeps no state of its own on disk.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.actions.audit import Audit, AuditLog
from bot.actions.ledger import ActionLedger, Ledger
from bot.config import Settings
from bot.store.interface import NotificationStore
from bot.store.sqlite import Store

if TYPE_CHECKING:  # asyncpg only where PostgreSQL is configured, Slack only with a token
    from bot.slack.tables import SlackStore
    from bot.store.postgres.leases import Leases
    from bot.store.postgres.store import PostgresStore


def replica_name(settings: Settings) -> str:
    """This process's name in leases and claims: the setting, the pod, or host-pid."""
    if settings.replica_name:
        return settings.replica_name
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class Backends:
    """The store of this process: exactly one of `sqlite` and `postgres` is set, and
    `store` is that one, seen through the interface the receiver and worker use."""

    store: NotificationStore
    sqlite: Store | None = None
    postgres: PostgresStore | None = None

    async def open(self) -> None:
        """Connect (and migrate)."""
        await self.store.open()

    async def close(self) -> None:
        """Finish writes and disconnect."""
        await self.store.close()


def open_backends(settings: Settings) -> Backends:
    """The store for the settings (not yet open: `app` opens it at start)."""
    if settings.database_url is None:
        sqlite = Store(settings.database_path, synchronous=settings.sqlite_synchronous)
        return Backends(sqlite, sqlite=sqlite)
    from bot.store.postgres.setup import store_from_settings

    postgres = store_from_settings(settings)
    return Backends(postgres, postgres=postgres)


def _sqlite(backends: Backends) -> Store:
    if backends.sqlite is None:
        raise RuntimeError("neither SQLite nor PostgreSQL store")  # open_backends sets one
    return backends.sqlite


def leases(backends: Backends, settings: Settings) -> Leases | None:
    """Group leases for the worker (PostgreSQL); None: the in-memory hand-off (SQLite)."""
    if backends.postgres is None:
        return None
    from bot.store.postgres.leases import Leases

    lease = settings.database.lease_seconds
    return Leases(backends.postgres.pool, replica_name(settings), lease)


async def ledger(backends: Backends) -> ActionLedger:
    """The action ledger: shared on PostgreSQL, so a click runs once on any replica."""
    if backends.postgres is None:
        sqlite = Ledger(_sqlite(backends))
        await sqlite.ensure()
        return sqlite
    from bot.actions.pg_ledger import PostgresLedger

    return PostgresLedger(backends.postgres.pool)  # its table comes with the migrations


async def slack_tables(backends: Backends, settings: Settings) -> SlackStore:
    """The Slack outbox and group messages: on PostgreSQL claimed per replica, so a
    group gets one top-level message whichever replica sends it."""
    tables: SlackStore
    if backends.postgres is None:
        from bot.slack.outbox import SlackTables

        tables = SlackTables(_sqlite(backends))
    else:
        from bot.slack.pg_outbox import PgSlackTables

        tables = PgSlackTables(backends.postgres.pool, replica_name(settings))
    await tables.ensure()
    return tables


async def audit_log(backends: Backends) -> Audit:
    """The audit log of clicks (shared on PostgreSQL: any replica shows every click)."""
    audit: Audit
    if backends.postgres is None:
        audit = AuditLog(_sqlite(backends))
    else:
        from bot.actions.pg_audit import PgAuditLog

        audit = PgAuditLog(backends.postgres.pool)
    await audit.ensure()
    return audit


def drift_store(backends: Backends) -> Store | PostgresStore:
    """Where drift windows and history live (shared by the replicas on PostgreSQL)."""
    return backends.postgres if backends.postgres is not None else _sqlite(backends)
