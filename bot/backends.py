"""Which class serves each table: SQLite by default, PostgreSQL with `database_url`.

Called by `app` (the composition root) only. `open_backends` builds the store the
settings ask for; the small functions below choose, for each feature, the class of its
tables on that back end (one function per feature, so a feature that gains a PostgreSQL
class changes here and nowhere else). With PostgreSQL, the features whose tables have
no PostgreSQL class yet (the Slack outbox, the audit log, the drift history) keep them in
the replica's own SQLite file under the data dir (`Backends.sqlite`); everything the
replicas must agree on (notifications, triages, leases, the action ledger) is shared.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.actions.audit import AuditLog
from bot.actions.ledger import Ledger
from bot.actions.runner import RunLedger
from bot.config import Settings
from bot.slack.outbox import SlackTables
from bot.store.interface import NotificationStore
from bot.store.sqlite import Store

if TYPE_CHECKING:  # asyncpg only where PostgreSQL is configured
    from bot.store.postgres.leases import Leases
    from bot.store.postgres.store import PostgresStore


def replica_name(settings: Settings) -> str:
    """This process's name in leases and claims: the setting, the pod, or host-pid."""
    if settings.replica_name:
        return settings.replica_name
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class Backends:
    """The stores of this process: `store` for notifications and triages; `sqlite` for
    the SQLite tables (the same object as `store` without PostgreSQL)."""

    store: NotificationStore
    sqlite: Store
    postgres: PostgresStore | None = None

    async def open(self) -> None:
        """Open the shared store, then the local one (when it is another object)."""
        await self.store.open()
        if self.sqlite is not self.store:
            try:
                await self.sqlite.open()
            except BaseException:
                await self.store.close()
                raise

    async def close(self) -> None:
        """Close in reverse order."""
        if self.sqlite is not self.store:
            await self.sqlite.close()
        await self.store.close()


def open_backends(settings: Settings) -> Backends:
    """The stores for the settings (not yet open: `app` opens them at start)."""
    sqlite = Store(settings.database_path, synchronous=settings.sqlite_synchronous)
    if settings.database_url is None:
        return Backends(sqlite, sqlite)
    from bot.store.postgres.setup import store_from_settings

    postgres = store_from_settings(settings)
    return Backends(postgres, sqlite, postgres)


def leases(backends: Backends, settings: Settings) -> Leases | None:
    """Group leases for the worker (PostgreSQL); None: the in-memory hand-off (SQLite)."""
    if backends.postgres is None:
        return None
    from bot.store.postgres.leases import Leases

    lease = settings.database.lease_seconds
    return Leases(backends.postgres.pool, replica_name(settings), lease)


async def ledger(backends: Backends) -> RunLedger:
    """The action ledger: shared on PostgreSQL, so a click runs once on any replica."""
    if backends.postgres is None:
        sqlite = Ledger(backends.sqlite)
        await sqlite.ensure()
        return sqlite
    from bot.actions.pg_ledger import PostgresLedger

    return PostgresLedger(backends.postgres.pool)  # its table comes with the migrations


async def slack_tables(backends: Backends) -> SlackTables:
    """The Slack outbox and group messages (SQLite: no PostgreSQL class yet)."""
    tables = SlackTables(backends.sqlite)
    await tables.ensure()
    return tables


async def audit_log(backends: Backends) -> AuditLog:
    """The audit log of clicks (SQLite: no PostgreSQL class yet)."""
    audit = AuditLog(backends.sqlite)
    await audit.ensure()
    return audit


def drift_store(backends: Backends) -> Store:
    """Where the drift history lives (SQLite: no PostgreSQL class yet)."""
    return backends.sqlite
