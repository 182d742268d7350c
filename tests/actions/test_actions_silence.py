"""Silences against the real Alertmanager binary (API v2) on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.actions.base import ActionError
from bot.actions.silence import SilenceAction, parse_duration
from tests.actions.objects import request
from tests.fakes.servers import (
    alertmanager_config,
    free_port,
    running_alertmanager,
    serving,
)


@pytest.fixture
async def alertmanager(tmp_path: Path) -> AsyncIterator[str]:
    config = alertmanager_config(f"http://127.0.0.1:{free_port()}/alertmanager")
    async with running_alertmanager(tmp_path / "am", config) as server:
        yield server.url


async def test_silence_matches_the_group_for_the_chosen_duration(alertmanager: str) -> None:
    now = datetime.now(UTC)
    async with aiohttp.ClientSession() as session:
        action = SilenceAction(session, alertmanager, ("1h", "4h"))
        outcome = await action.run(request("silence", "4h", user="U7", now=now))
        assert outcome.ok and outcome.until == now + timedelta(hours=4)
        assert "silenced by <@U7> for 4h until" in outcome.summary
        async with session.get(f"{alertmanager}/api/v2/silences") as resp:
            [silence] = await resp.json()
    assert silence["status"]["state"] == "active"
    assert silence["createdBy"] == "slack:U7"
    assert outcome.detail == f"silence {silence['id']}"
    found = {(m["name"], m["value"], m["isRegex"], m["isEqual"]) for m in silence["matchers"]}
    assert found == {
        ("alertname", "HighErrorRate", False, True),
        ("namespace", "models", False, True),
        ("severity", "critical", False, True),
    }
    ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
    assert abs((ends - (now + timedelta(hours=4))).total_seconds()) < 1


async def test_silence_refuses_durations_not_offered_and_reports_errors(alertmanager: str) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ActionError, match="not an offered duration"):
            await SilenceAction(session, alertmanager, ("1h",)).run(request("silence", "8760h"))
        past = datetime.now(UTC) - timedelta(days=2)
        with pytest.raises(ActionError, match="Alertmanager answered 400"):
            await SilenceAction(session, alertmanager, ("1h",)).run(
                request("silence", "1h", now=past)
            )
        dead = f"http://127.0.0.1:{free_port()}"
        with pytest.raises(ActionError, match="unreachable"):
            await SilenceAction(session, dead, ("1h",)).run(request("silence", "1h"))
        with pytest.raises(ActionError, match="no Alertmanager URL"):
            await SilenceAction(session, None, ("1h",)).run(request("silence", "1h"))


async def test_a_200_that_is_not_alertmanager_is_an_error() -> None:
    """An ingress or auth proxy in front of Alertmanager answering its own login page."""

    async def login_page(_: web.Request) -> web.Response:
        return web.Response(text="<html>Sign in</html>", content_type="text/html")

    app = web.Application()
    app.router.add_post("/api/v2/silences", login_page)
    async with serving(app) as url, aiohttp.ClientSession() as session:
        with pytest.raises(ActionError, match="200 but not JSON: <html>Sign in"):
            await SilenceAction(session, url, ("1h",)).run(request("silence", "1h"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30m", timedelta(minutes=30)), ("4h", timedelta(hours=4)), ("2d", timedelta(days=2))],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "0h", "4", "h", "1w", "-1h", "99999h"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
