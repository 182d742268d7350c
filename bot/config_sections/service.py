"""The service's own sections of the settings: who may read `/api/*`, the PostgreSQL pool.

`Settings.api` is read by `bot.auth`; `Settings.database` by the PostgreSQL store
(`bot.store.postgres.setup`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ApiSettings(BaseModel):
    """Exposure of `/api/*` (bot.auth): closed unless a token is set or this says public."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    public: bool = False  # true: no token needed; for a laptop (`make run`), never a cluster


class DatabaseSettings(BaseModel):
    """The PostgreSQL store's pool and leases (used only with `database_url`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pool_min_size: int = Field(default=1, ge=0, le=100)
    pool_max_size: int = Field(default=10, ge=1, le=100)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    command_timeout_seconds: float = Field(default=10.0, gt=0)
    lease_seconds: float = Field(default=60.0, gt=0)  # a dead replica's groups wait this long
    # The worker looks for work this often (other replicas' webhooks never wake it).
    poll_seconds: float = Field(default=1.0, gt=0)
    # Expired leases and old rows are swept this often, by one replica at a time.
    sweep_seconds: float = Field(default=60.0, gt=0)
    keep_days: float = Field(default=7.0, gt=0)  # finished notifications kept this long
