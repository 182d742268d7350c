"""Suite-wide fixtures: an environment without the bot's settings, and an open store."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store

_SETTING_PREFIXES = ("TRIAGE_BOT_", "SLACK_")
_SETTING_NAMES = ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")


@pytest.fixture(autouse=True)
def _clean_settings_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The environment wins over values passed to Settings, so a variable exported by the
    # shell (or `make run`) would silently redirect every test's data dir or cluster.
    for name in list(os.environ):
        if name.startswith(_SETTING_PREFIXES) or name in _SETTING_NAMES:
            monkeypatch.delenv(name)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A store in the test's directory, open for the test, closed after it."""
    opened = Store(tmp_path / "store.sqlite3")
    await opened.open()
    yield opened
    await opened.close()
