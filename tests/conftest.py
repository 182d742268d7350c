"""Suite-wide fixtures: an environment without the bot's settings, no leaked tasks, a store."""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store.sqlite import Store

pytest_plugins = ("tests.postgres_fixtures",)

_SETTING_PREFIXES = ("TRIAGE_BOT_", "SLACK_")
_SETTING_NAMES = ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")


@pytest.fixture(autouse=True)
def _clean_settings_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The environment wins over values passed to Settings, so a variable exported by the
    # shell (or `make run`) would silently redirect every test's data dir or cluster.
    for name in list(os.environ):
        if name.startswith(_SETTING_PREFIXES) or name in _SETTING_NAMES:
            monkeypatch.delenv(name)


# Tasks that are finishing when a test ends (a cancelled handler unwinding, a connection
# closing) get this long to end on their own before they count as leaked.
_LEAK_GRACE_SECONDS = 1.0


@pytest.fixture(autouse=True)
def _no_leaked_tasks(request: pytest.FixtureRequest) -> None:
    # Only coroutine tests run on an event loop; asking for the async guard from here keeps
    # sync tests off a loop they do not need. Requested first, it is torn down last: after
    # the test's own fixtures have closed their servers and workers.
    if inspect.iscoroutinefunction(request.function):
        request.getfixturevalue("_task_leak_guard")


@pytest.fixture
async def _task_leak_guard() -> AsyncIterator[None]:
    """Fail a test that leaves an asyncio task running (a worker never stopped, a forgotten
    `create_task`): such a task outlives its loop and hides the bug that dropped it."""
    before = asyncio.all_tasks()
    yield
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _LEAK_GRACE_SECONDS
    leaked = _new_tasks(before)
    while leaked and loop.time() < deadline:
        await asyncio.sleep(0.01)
        leaked = _new_tasks(before)
    if leaked:
        for task in leaked:
            task.cancel()
        await asyncio.gather(*leaked, return_exceptions=True)
        names = sorted(f"{task.get_name()}: {task.get_coro()!r}" for task in leaked)
        pytest.fail(f"{len(leaked)} asyncio task(s) left running: {names}")


def _new_tasks(before: set[asyncio.Task[object]]) -> set[asyncio.Task[object]]:
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() - before if t is not current and not t.done()}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A store in the test's directory, open for the test, closed after it."""
    opened = Store(tmp_path / "store.sqlite3")
    await opened.open()
    yield opened
    await opened.close()
