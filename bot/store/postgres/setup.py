"""The PostgreSQL store built from the settings, and the start-up check of it.

Called by `preflight.check_store` (serve, check-config) and by `migrate-store`. The
database URL may carry a password: no message here repeats it, only its host and name.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg

from bot.config import Settings
from bot.store.postgres.store import PoolSettings, PostgresStore


def where(url: str) -> str:
    """host:port/database of a URL, without its user or password (for messages)."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path or '/'}"


def store_from_settings(settings: Settings) -> PostgresStore:
    """A PostgresStore for `database_url` with the `database` pool settings."""
    if settings.database_url is None:
        raise ValueError("database_url is not set")
    db = settings.database
    pool = PoolSettings(
        min_size=min(db.pool_min_size, db.pool_max_size),
        max_size=db.pool_max_size,
        connect_timeout_seconds=db.connect_timeout_seconds,
        command_timeout_seconds=db.command_timeout_seconds,
        dedup_window_seconds=settings.dedup_window_seconds,
    )
    return PostgresStore(settings.database_url.get_secret_value(), pool)


async def check_postgres(settings: Settings) -> str | None:
    """Connect and migrate; None when that worked, else one line naming the problem."""
    assert settings.database_url is not None
    url = settings.database_url.get_secret_value()
    store = store_from_settings(settings)
    try:
        await store.open()
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        reason = str(exc).replace(url, where(url)) or type(exc).__name__
        return f"PostgreSQL store at {where(url)} cannot be opened: {reason}"
    finally:
        await store.close()
    return None
