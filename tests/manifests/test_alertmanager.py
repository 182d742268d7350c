"""The plain alertmanager.yml: amtool accepts it, it says what the AlertmanagerConfig says,
and the real Alertmanager routes model alerts (only those) to the bot with the token."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.e2e.stack import Timings, alertmanager_config_from_manifest
from tests.fakes.servers import (
    ALERTMANAGER_BIN,
    Notification,
    running_alertmanager,
    running_webhook_receiver,
    wait_for,
)
from tests.manifests.conftest import MANIFESTS, find, require_tool

PLAIN = MANIFESTS / "alertmanager" / "alertmanager.yml"
INSTALL = "`make system-deps` (Debian package prometheus-alertmanager)"


def _plain() -> dict[str, Any]:
    return dict(yaml.safe_load(PLAIN.read_text()))


def _bot_route(config: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in config["route"]["routes"] if r["receiver"] == "triage-bot")


def _bot_webhook(config: dict[str, Any]) -> dict[str, Any]:
    receiver = next(r for r in config["receivers"] if r["name"] == "triage-bot")
    return dict(receiver["webhook_configs"][0])


def test_amtool_check_config() -> None:
    amtool = require_tool("amtool", INSTALL)
    result = subprocess.run(
        [amtool, "check-config", str(PLAIN)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_plain_config_matches_the_alertmanager_config(base_objects: list[dict[str, Any]]) -> None:
    crd = find(base_objects, "AlertmanagerConfig", "triage-bot")["spec"]
    plain = _plain()
    route = _bot_route(plain)
    webhook = _bot_webhook(plain)
    [matcher] = crd["route"]["matchers"]
    assert route["matchers"] == [f'{matcher["name"]}="{matcher["value"]}"']
    assert route["group_by"] == crd["route"]["groupBy"]
    assert route["group_wait"] == crd["route"]["groupWait"]
    assert route["group_interval"] == crd["route"]["groupInterval"]
    assert route["repeat_interval"] == crd["route"]["repeatInterval"]
    [crd_hook] = crd["receivers"][0]["webhookConfigs"]
    assert webhook["url"] == crd_hook["url"]
    assert webhook["send_resolved"] is crd_hook["sendResolved"] is True
    assert webhook["max_alerts"] == crd_hook["maxAlerts"]
    assert webhook["http_config"]["authorization"]["type"] == "Bearer"
    assert crd_hook["httpConfig"]["authorization"]["credentials"] == {
        "name": "triage-bot-secrets",
        "key": "webhook-token",
    }
    # the URL is the bot's Service, port and path
    service = find(base_objects, "Service", "triage-bot")
    meta = service["metadata"]
    port = service["spec"]["ports"][0]["port"]
    assert webhook["url"] == f"http://{meta['name']}.{meta['namespace']}.svc:{port}/alertmanager"


def _alert(name: str, ends_at: datetime | None = None, /, **labels: str) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": name},
        "startsAt": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
    }
    if ends_at is not None:
        alert["endsAt"] = ends_at.isoformat()
    return alert


async def test_real_alertmanager_routes_model_alerts_to_the_bot(tmp_path: Path) -> None:
    require_tool(ALERTMANAGER_BIN, INSTALL)
    received: list[Notification] = []
    token_file = tmp_path / "webhook-token"
    token_file.write_text("s3cret-token")
    async with running_webhook_receiver(received) as url:
        quick = Timings(group_wait="0s", group_interval="1s")
        config = alertmanager_config_from_manifest(url, token_file, quick)
        model: dict[str, str] = {"namespace": "models", "model": "wine", "inferenceservice": "wine"}
        async with (
            running_alertmanager(tmp_path / "am", config) as alertmanager,
            aiohttp.ClientSession() as session,
        ):
            alerts = [
                _alert("HighErrorRate", triage="true", severity="critical", **model),
                _alert("TriageBotDown", namespace="triage-bot", severity="critical"),
            ]
            async with session.post(alertmanager.url + "/api/v2/alerts", json=alerts) as r:
                assert r.status == 200

            async def delivered(count: int) -> bool:
                return len(received) >= count

            await wait_for(lambda: delivered(1), timeout=15, what="the firing notification")
            headers, body = received[0]
            assert headers["Authorization"] == "Bearer s3cret-token"
            assert headers["User-Agent"].startswith("Alertmanager/")
            assert body["version"] == "4" and body["status"] == "firing"
            assert body["receiver"] == "triage-bot"
            assert body["groupLabels"] == {"alertname": "HighErrorRate", **model}
            assert [a["labels"]["alertname"] for a in body["alerts"]] == ["HighErrorRate"]

            resolved = [
                _alert(
                    "HighErrorRate", datetime.now(UTC), triage="true", severity="critical", **model
                )
            ]
            async with session.post(alertmanager.url + "/api/v2/alerts", json=resolved) as r:
                assert r.status == 200
            await wait_for(lambda: delivered(2), timeout=15, what="the resolved notification")
            _, body = received[-1]
            assert body["status"] == "resolved"
            assert body["groupKey"] == received[0][1]["groupKey"]
    # the bot's own alert went to people (the default receiver), never to the bot
    assert all(
        a["labels"]["alertname"] == "HighErrorRate" for _, b in received for a in b["alerts"]
    )
