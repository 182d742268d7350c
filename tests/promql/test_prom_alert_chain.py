"""The real chain without the bot: simulator → Prometheus (our rules) → Alertmanager → webhook.

Checks the shared fixtures the end-to-end test builds on, the rules as the real Prometheus
evaluates them (`for:` shortened), and that the generatorURL Prometheus writes gives the
collector the expression and threshold back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.promql.expression import expression_from_generator_url, split_threshold
from tests.e2e.stack import Timings, quick_rules
from tests.fakes.servers import (
    ModelTraffic,
    Notification,
    alertmanager_config,
    prometheus_config,
    running_alertmanager,
    running_model_simulator,
    running_prometheus,
    running_webhook_receiver,
    wait_for,
)

pytestmark = pytest.mark.slow


async def test_error_ratio_alert_fires_routes_and_resolves(tmp_path: Path) -> None:
    rule_file = tmp_path / "rules.yml"
    rule_file.write_text(yaml.safe_dump(quick_rules(Timings(alert_for="1s", rate_range="5s"))))
    token_file = tmp_path / "token"
    token_file.write_text("chain-token")
    received: list[Notification] = []
    models = [ModelTraffic("wine", requests_per_second=20), ModelTraffic("iris")]

    async with (
        running_webhook_receiver(received, token="chain-token") as url,
        running_model_simulator(models) as simulator,
        running_alertmanager(
            tmp_path / "am", alertmanager_config(url, token_file=token_file, group_interval="1s")
        ) as alertmanager,
    ):
        config = prometheus_config(
            [simulator.target],
            rule_files=[rule_file],
            alertmanagers=[f"127.0.0.1:{alertmanager.port}"],
        )
        async with running_prometheus(tmp_path / "prom", config):
            simulator.set_error_ratio("wine", 0.3)

            async def firing() -> dict[str, Any] | None:
                return next((b for _, b in received if b["status"] == "firing"), None)

            body = await wait_for(firing, timeout=30, what="HighErrorRate to reach the webhook")
            [alert] = body["alerts"]
            assert alert["labels"]["alertname"] == "HighErrorRate"
            assert alert["labels"]["model"] == "wine" and alert["labels"]["namespace"] == "models"
            assert alert["labels"]["triage"] == "true"
            assert simulator.model("wine").first_bad_scrape is not None

            expr = expression_from_generator_url(alert["generatorURL"])
            assert expr is not None and "request_error_count" in expr
            split = split_threshold(expr)
            assert (split.comparison, split.threshold) == (">", 0.05)

            simulator.set_error_ratio("wine", 0.0)

            async def resolved() -> dict[str, Any] | None:
                return next((b for _, b in received if b["status"] == "resolved"), None)

            # The errors leave the (shortened) rate window within seconds.
            body = await wait_for(resolved, timeout=30, what="the resolved notification")
            assert body["alerts"][0]["labels"]["model"] == "wine"
    assert all(a["labels"]["model"] == "wine" for _, b in received for a in b["alerts"])
