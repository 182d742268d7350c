"""Start-up checks: what `serve` verifies before it listens, and all that `check-config` does.

Called by `cli` for both commands (`serve` through `service.serve`), so "configuration OK"
means the service starts. Each check opens what the service will open (the data dir, the
store, the Kubernetes client, the Slack and HTTP clients, every drift reference file),
checks it and closes it again: a failure leaves no thread or connection behind, and ends
in a `StartupError` whose one-line message names what failed and how to fix it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from pathlib import Path

import aiohttp

from bot.config import ConfigError, Settings
from bot.config_names import setting_name
from bot.store.sqlite import Store

CONFIG = 2  # exit code: fix the configuration
RUNTIME = 1  # exit code: something around the process failed


def kubeconfig_problem(path: Path) -> str | None:
    """Why a kubeconfig file cannot be used before parsing it (None: try it)."""
    if not path.is_file():
        return f"no kubeconfig file at {path}"
    try:
        if not path.read_bytes().strip():
            return f"kubeconfig file {path} is empty"
    except OSError as exc:
        return f"cannot read kubeconfig file {path}: {exc.strerror or exc}"
    return None


class StartupError(Exception):
    """The service cannot start; `code` is the exit status (2 configuration, 1 runtime)."""

    def __init__(self, message: str, code: int = CONFIG) -> None:
        # One line whatever the cause said (a YAML error spans three).
        super().__init__(" ".join(message.split()))
        self.code = code


async def preflight(settings: Settings) -> None:
    """Run every start-up check in the order the service opens things; raise the first failure."""
    check_api_exposure(settings)
    check_slack_routing(settings)
    check_data_dir(settings.data_dir)
    await check_store(settings)
    await check_clients(settings)
    await check_references(settings)


def check_api_exposure(settings: Settings) -> None:
    """`/api/*` is closed by a token of some length, or declared public."""
    from bot.auth import api_exposure_problem

    token = settings.api_token.get_secret_value() if settings.api_token else None
    problem = api_exposure_problem(token, settings.api.public)
    if problem is not None:
        raise StartupError(problem)


def check_slack_routing(settings: Settings) -> None:
    """A Slack token needs somewhere to send every alert group."""
    if settings.slack_bot_token is None or settings.slack_channel:
        return
    # A route needs at least one label to match, so no set of routes is certain to match
    # every group: without a default channel some triage would have nowhere to go.
    raise StartupError(
        f"{setting_name('slack_bot_token')} is set but no default channel: set"
        " TRIAGE_BOT_SLACK_CHANNEL (or slack_channel in the config file): alert groups that"
        " no slack.routes entry matches are posted there"
    )


def check_data_dir(data_dir: Path) -> None:
    """The data dir exists (or can be made) and this process can write in it."""
    name = setting_name("data_dir")
    if data_dir.exists() and not data_dir.is_dir():
        raise StartupError(f"data dir {data_dir} is not a directory: point {name} at a directory")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=data_dir):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise StartupError(
            f"data dir {data_dir} is not usable ({reason}): point {name} at a writable directory"
        ) from None


async def check_store(settings: Settings) -> None:
    """The SQLite file opens, is a database, and takes the schema.

    No file yet: nothing to check (the data dir was shown writable), and none is left.
    With `database_url`, the PostgreSQL store is checked instead (`check_postgres_store`).
    """
    if settings.database_url is not None:
        await check_postgres_store(settings)
        return
    path = settings.database_path
    if not path.exists():
        return
    store = Store(path, synchronous=settings.sqlite_synchronous)
    try:
        await store.open()
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc) or "malformed" in str(exc):
            raise StartupError(
                f"store {path} is damaged or not a SQLite database ({exc}): move it aside"
                " to start with an empty store, or restore it from a backup",
                RUNTIME,
            ) from None
        raise StartupError(f"store {path} cannot be opened: {exc}", RUNTIME) from None
    except OSError as exc:
        raise StartupError(
            f"store {path} cannot be opened: {exc.strerror or exc}", RUNTIME
        ) from None
    finally:
        await store.close()


async def check_postgres_store(settings: Settings) -> None:
    """The PostgreSQL store connects and takes its migrations (the service then runs on it)."""
    from bot.store.postgres.setup import check_postgres  # asyncpg only when the URL is set

    problem = await check_postgres(settings)
    if problem is not None:
        raise StartupError(problem, RUNTIME)


async def check_clients(settings: Settings) -> None:
    """Build every client the service builds (Kubernetes, HTTP, Slack) and close them."""
    if settings.cluster_configured:
        from bot.cluster.client import open_api_client

        # The loader's own words for an empty file are a TypeError's.
        problem = kubeconfig_problem(settings.kubeconfig) if settings.kubeconfig else None
        if problem:
            raise StartupError(f"{problem}: {_cluster_fix(settings)}")
        try:
            api = await open_api_client(settings.kubeconfig)
        except ConfigError as exc:
            raise StartupError(f"{str(exc).rstrip('.')}: {_cluster_fix(settings)}") from None
        await api.close()
    async with aiohttp.ClientSession() as session:
        if settings.slack_bot_token is not None:
            from bot.slack.client import make_client

            make_client(settings, session)


def _cluster_fix(settings: Settings) -> str:
    if settings.kubeconfig is not None:
        return f"fix the file or unset {setting_name('kubeconfig')}"
    return (
        "KUBERNETES_SERVICE_HOST is set, so the service account is used: mount its token"
        " (automountServiceAccountToken), or set KUBECONFIG, or set in_cluster: false"
    )


async def check_references(settings: Settings) -> None:
    """Read every drift model's reference file the way the drift engine will."""
    from bot.drift.ingest.reference_file import load_reference

    for index, model in enumerate(settings.drift.models):
        if model.reference is None:
            continue
        try:
            await asyncio.to_thread(
                load_reference, model.reference, model.features, model.categorical
            )
        except (OSError, ValueError) as exc:
            raise StartupError(
                f"drift model {model.namespace}/{model.name}: reference file: {exc}: fix"
                f" drift.models[{index}].reference (or remove it to capture a reference)"
            ) from None
