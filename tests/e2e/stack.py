"""The whole loop on loopback: simulator → Prometheus → Alertmanager → triage-bot → Slack.

Used by tests/e2e/test_end_to_end.py and bench/e2e.py. Everything is real except the model
server (tests/fakes/servers.py's simulator), the Kubernetes API (tests/fakes/fake_kube.py,
loaded with one scenario timed to now) and Slack (tests/fakes/fake_slack.py):

- Prometheus evaluates the rules of
  manifests/components/prometheus-operator/prometheusrule.yaml, made quick with
  `rules_from_prometheus_rule` (short `for:` and range selectors), scraping every second;
- Alertmanager runs manifests/alertmanager/alertmanager.yml with only the bot's URL, the
  token file and the timings replaced;
- the bot is `python -m bot serve` in a subprocess, configured by the environment
  variables a Deployment would set (KUBECONFIG, TRIAGE_BOT_PROMETHEUS_URL, Slack, token).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.fakes.fake_kube import FakeKube, running_fake_kube
from tests.fakes.fake_slack import BOT_TOKEN, FakeSlack, running_fake_slack
from tests.fakes.kube_scenarios import ISVC, NAMESPACE, SCENARIOS
from tests.fakes.servers import (
    ModelSimulator,
    ModelTraffic,
    ServerProcess,
    free_port,
    prometheus_config,
    rules_from_prometheus_rule,
    running_alertmanager,
    running_model_simulator,
    running_prometheus,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_RULE = ROOT / "manifests" / "components" / "prometheus-operator" / "prometheusrule.yaml"
PLAIN_ALERTMANAGER = ROOT / "manifests" / "alertmanager" / "alertmanager.yml"
TOKEN = "e2e-webhook-token"
API_TOKEN = "e2e-api-token-0123456789abcdef"
CHANNEL = "C-models"
# The parent's settings must not leak into the bot: it gets exactly the ones below.
_INHERITED_PREFIXES = ("TRIAGE_BOT_", "SLACK_", "KUBECONFIG", "KUBERNETES_SERVICE_")


@dataclass(frozen=True)
class Timings:
    """How quick the chain is made: every value is a Prometheus/Alertmanager duration."""

    interval: str = "1s"  # scrape and rule evaluation
    alert_for: str = "1s"  # replaces every alert's `for:`
    rate_range: str = "5s"  # replaces every range selector, so alerts also resolve quickly
    group_wait: str = "1s"
    group_interval: str = "1s"
    resolve_timeout: str = "5s"


def alertmanager_config_from_manifest(
    webhook_url: str, token_file: Path, timings: Timings
) -> dict[str, Any]:
    """The plain alertmanager.yml with the bot's URL, the token file and short timings."""
    config: dict[str, Any] = yaml.safe_load(PLAIN_ALERTMANAGER.read_text())
    config.setdefault("global", {})["resolve_timeout"] = timings.resolve_timeout
    routes = [r for r in config["route"]["routes"] if r["receiver"] == "triage-bot"]
    receivers = [r for r in config["receivers"] if r["name"] == "triage-bot"]
    assert len(routes) == 1 and len(receivers) == 1, "one triage-bot route and receiver"
    routes[0].update(group_wait=timings.group_wait, group_interval=timings.group_interval)
    [webhook] = receivers[0]["webhook_configs"]
    assert webhook["send_resolved"] is True
    webhook["url"] = webhook_url
    webhook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    return config


def quick_rules(timings: Timings) -> dict[str, Any]:
    """The PrometheusRule's rule file with the short `for:` and ranges."""
    manifest = yaml.safe_load(PROMETHEUS_RULE.read_text())
    return rules_from_prometheus_rule(
        manifest, for_override=timings.alert_for, range_override=timings.rate_range
    )


def bot_environment(
    *, data_dir: Path, kubeconfig: Path, prometheus_url: str, slack: FakeSlack
) -> dict[str, str]:
    """What the Deployment's env would hold, pointed at the loopback servers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
    env.update(
        TRIAGE_BOT_WEBHOOK_TOKEN=TOKEN,
        TRIAGE_BOT_API_TOKEN=API_TOKEN,
        TRIAGE_BOT_DATA_DIR=str(data_dir),
        KUBECONFIG=str(kubeconfig),
        TRIAGE_BOT_PROMETHEUS_URL=prometheus_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        TRIAGE_BOT_SLACK_API_URL=slack.base_url,
        TRIAGE_BOT_SLACK_CHANNEL=CHANNEL,
        TRIAGE_BOT_SQLITE_SYNCHRONOUS="normal",
        TRIAGE_BOT_SHUTDOWN_TIMEOUT_SECONDS="2",
        MPLCONFIGDIR=str(data_dir / "matplotlib"),
    )
    return env


@dataclass
class BotProcess:
    """The bot running as `python -m bot serve`."""

    url: str
    log_path: Path
    process: asyncio.subprocess.Process

    def log_tail(self, lines: int = 40) -> str:
        """The end of the bot's output, for failure messages."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    async def get_json(self, path: str) -> Any:
        """GET one of the bot's JSON endpoints."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                self.url + path,
                headers={"Authorization": f"Bearer {API_TOKEN}"},
                timeout=aiohttp.ClientTimeout(total=5),
            ) as response,
        ):
            response.raise_for_status()
            return await response.json()

    async def wait_triages(
        self, check: Callable[[list[dict[str, Any]]], bool], *, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """`GET /api/triages` until `check(triages)` holds (the row is saved after the post)."""

        async def listed() -> list[dict[str, Any]] | None:
            triages: list[dict[str, Any]] = (await self.get_json("/api/triages"))["triages"]
            return triages if check(triages) else None

        result: list[dict[str, Any]] = await wait_for(
            listed, timeout=timeout, interval=0.05, what="the bot's /api/triages"
        )
        return result


@contextlib.asynccontextmanager
async def running_bot(
    workdir: Path, port: int, env: Mapping[str, str], *, timeout: float = 20.0
) -> AsyncIterator[BotProcess]:
    """`python -m bot serve` on a loopback port until the block ends (SIGTERM, then kill)."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "bot.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
            stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=asyncio.subprocess.STDOUT,
            cwd=ROOT, env=dict(env),
        )  # fmt: skip
    bot = BotProcess(f"http://127.0.0.1:{port}", log_path, process)
    try:

        async def ready() -> bool:
            if process.returncode is not None:
                raise AssertionError(f"the bot exited with {process.returncode}:\n{bot.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                return bool((await bot.get_json("/readyz"))["ready"])
            return False

        await wait_for(ready, timeout=timeout, interval=0.1, what="the bot's /readyz")
        yield bot
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()


@dataclass
class Stack:
    """Every running piece, for the test to drive and inspect."""

    simulator: ModelSimulator
    kube: FakeKube
    slack: FakeSlack
    prometheus: ServerProcess
    alertmanager: ServerProcess
    bot: BotProcess
    scenario_start: datetime

    def resolved_in_place(self, ts: str) -> bool:
        """Whether the Slack message `ts` has been updated to `[RESOLVED]`."""
        return any(
            c.args.get("ts") == ts and str(c.args.get("text", "")).startswith("[RESOLVED]")
            for c in self.slack.calls("chat.update")
        )

    def logs(self) -> str:
        """The ends of the three processes' logs, for failure messages."""
        return "\n".join(
            f"--- {name}\n{tail}"
            for name, tail in (
                ("bot", self.bot.log_tail()),
                ("prometheus", self.prometheus.log_tail(10)),
                ("alertmanager", self.alertmanager.log_tail(10)),
            )
        )


@contextlib.asynccontextmanager
async def running_stack(
    workdir: Path, *, scenario: str = "bad-rollout", timings: Timings | None = None
) -> AsyncIterator[Stack]:
    """Start the whole loop with a healthy model (100 req/s, no errors); stop it on exit."""
    timings = timings or Timings()
    rule_file = workdir / "rules.yml"
    rule_file.write_text(yaml.safe_dump(quick_rules(timings)))
    token_file = workdir / "webhook-token"
    token_file.write_text(TOKEN)
    bot_port = free_port()
    bot_url = f"http://127.0.0.1:{bot_port}/alertmanager"
    # Timed so the alert starts now: the scenario's rollout lands 8 minutes before it.
    start = datetime.now(UTC)
    async with (
        running_fake_slack(FakeSlack()) as slack,
        running_fake_kube() as kube,
        running_model_simulator([ModelTraffic(ISVC, namespace=NAMESPACE)]) as simulator,
        running_alertmanager(
            workdir / "alertmanager",
            alertmanager_config_from_manifest(bot_url, token_file, timings),
        ) as alertmanager,
    ):
        SCENARIOS[scenario](kube, start)
        kubeconfig = kube.write_kubeconfig(workdir / "kubeconfig")
        config = prometheus_config(
            [simulator.target],
            rule_files=[rule_file],
            alertmanagers=[f"127.0.0.1:{alertmanager.port}"],
            scrape_interval=timings.interval,
            evaluation_interval=timings.interval,
        )
        # What the models' ServiceMonitor relabeling adds from the Service's KServe label.
        config["scrape_configs"][0]["static_configs"][0]["labels"] = {"inferenceservice": ISVC}
        async with running_prometheus(workdir / "prometheus", config) as prometheus:
            env = bot_environment(
                data_dir=workdir / "bot-data",
                kubeconfig=kubeconfig,
                prometheus_url=prometheus.url,
                slack=slack,
            )
            async with running_bot(workdir / "bot", bot_port, env) as bot:
                yield Stack(simulator, kube, slack, prometheus, alertmanager, bot, start)


async def arrival(check: Any, *, timeout: float, what: str, interval: float = 0.02) -> float:
    """Wait for `check()` (sync) to hold; the wall-clock time it was first seen to."""

    async def seen() -> float | None:
        return time.time() if check() else None

    result: float = await wait_for(seen, timeout=timeout, interval=interval, what=what)
    return result
