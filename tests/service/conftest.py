"""Fixtures for the service tests: settings in a temp dir, the app under a test client."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.config import Settings
from bot.model.collector import Collector

FIXTURES = Path(__file__).parent.parent / "fixtures"
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def load_fixture(name: str) -> dict[str, Any]:
    """A captured Alertmanager webhook body."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test: temp data dir, a token, no cluster."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "webhook_token": TOKEN,
        "in_cluster": False,
        "sqlite_synchronous": "normal",
        **overrides,
    }
    return Settings(**values)


class Console(io.StringIO):
    """Captures what the console notifier prints."""

    async def wait_for(self, text: str, count: int = 1, timeout: float = 5.0) -> str:
        """Wait until `text` has been printed `count` times."""
        async with asyncio.timeout(timeout):
            while self.getvalue().count(text) < count:
                await asyncio.sleep(0.01)
        return self.getvalue()


async def triages_when(
    client: TestClient[Any, Any],
    ready: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 5.0,
) -> list[dict[str, Any]]:
    """`GET /api/triages` until `ready` holds: the row is saved just after the notifier ran."""
    async with asyncio.timeout(timeout):
        while True:
            triages: list[dict[str, Any]] = (await (await client.get("/api/triages")).json())[
                "triages"
            ]
            if ready(triages):
                return triages
            await asyncio.sleep(0.01)


AppFactory = Callable[..., Awaitable[tuple[TestClient[Any, Any], Console]]]


@pytest.fixture
async def service(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]], tmp_path: Path
) -> AsyncIterator[AppFactory]:
    """Start the service with optional settings overrides and extra collectors."""

    async def start(
        collectors: tuple[Collector, ...] = (), **overrides: Any
    ) -> tuple[TestClient[Any, Any], Console]:
        console = Console()
        app = create_app(
            make_settings(tmp_path, **overrides), notifier_stream=console, collectors=collectors
        )
        return await aiohttp_client(app), console

    yield start
