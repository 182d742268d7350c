"""Replicas of the real service on one PostgreSQL, and Alertmanager's HA peers in front.

Used by tests/ha/test_chaos.py and bench/ha.py. A replica is `python -m bot serve` in a
subprocess, configured only through the environment a Deployment of components/ha would
set (the database URL, POD_NAME, the tokens, Slack and the kubeconfig), pointed at the
wire-level fakes of tests/fakes. `Peers` sends a notification the way two Alertmanager HA
peers do: each peer to one replica (as a Service would route it), both at once, and each
retries until it gets a 200, as Alertmanager retries any other answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakes.fake_slack import BOT_TOKEN
from tests.fakes.servers import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ha-webhook-token"
SIGNING_SECRET = "ha-signing-secret"
CHANNEL = "C-ha"
USER = "U1"
_INHERITED_PREFIXES = ("TRIAGE_BOT_", "SLACK_", "KUBECONFIG", "KUBERNETES_SERVICE_", "POD_NAME")


def replica_environment(
    *,
    name: str,
    data_dir: Path,
    slack_url: str,
    database_url: str | None,
    kubeconfig: Path | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """What components/ha's Deployment sets, pointed at loopback; no database: SQLite."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
    env.update(
        POD_NAME=name,
        TRIAGE_BOT_DATA_DIR=str(data_dir),
        TRIAGE_BOT_WEBHOOK_TOKEN=TOKEN,
        TRIAGE_BOT_API__PUBLIC="true",  # loopback only
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        TRIAGE_BOT_SLACK_API_URL=slack_url,
        TRIAGE_BOT_SLACK_CHANNEL=CHANNEL,
        TRIAGE_BOT_SLACK_ALLOWED_USERS=USER,
        # Slack's pace is the fake's to keep here: one channel takes the whole storm, and
        # the promise under test is one message per group, not the pacing (tests/slack).
        TRIAGE_BOT_SLACK__CHANNEL_MESSAGES_PER_SECOND="1000",
        TRIAGE_BOT_SLACK__CHANNEL_BURST="1000",
        TRIAGE_BOT_SLACK__UPDATES_PER_MINUTE="100000",
        TRIAGE_BOT_SLACK__STORM_GROUPS_PER_MINUTE="100000",
        TRIAGE_BOT_SLACK__CHARTS="false",
        TRIAGE_BOT_SLACK__RETRY_INTERVAL_SECONDS="0.05",
        TRIAGE_BOT_SLACK__REPLY_WINDOW_SECONDS="0",  # an action's outcome at once
        TRIAGE_BOT_SQLITE_SYNCHRONOUS="normal",
        TRIAGE_BOT_SHUTDOWN_TIMEOUT_SECONDS="2",
        TRIAGE_BOT_LOG_LEVEL="INFO",
        MPLCONFIGDIR=str(data_dir / "matplotlib"),
        PYTHONUNBUFFERED="1",
    )
    if database_url is not None:
        env["TRIAGE_BOT_DATABASE_URL"] = database_url
        # A SIGKILLed replica's groups are taken over after this (60 s in production).
        env["TRIAGE_BOT_DATABASE__LEASE_SECONDS"] = "2"
        # Other replicas' webhooks never wake this one: it polls (1 s in production).
        env["TRIAGE_BOT_DATABASE__POLL_SECONDS"] = "0.2"
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    env.update(extra or {})
    return env


@dataclass
class Replica:
    """One `python -m bot serve` process, restartable under the same name and port."""

    name: str
    workdir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def log_tail(self, lines: int = 30) -> str:
        """The end of every run's output, for failure messages."""
        text = "".join(
            p.read_text(errors="replace") for p in sorted(self.workdir.glob("serve-*.log"))
        )
        return f"--- {self.name}\n" + "\n".join(text.splitlines()[-lines:])

    async def start(self, session: aiohttp.ClientSession, timeout: float = 30.0) -> None:
        """Start the process and wait until /readyz answers 200."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        with (self.workdir / f"serve-{self.starts}.log").open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1",
                "--port", str(self.port),
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT,
                cwd=ROOT, env=self.env,
            )  # fmt: skip
        process = self.process

        async def ready() -> bool:
            if process.returncode is not None:
                raise AssertionError(f"{self.name} exited {process.returncode}\n{self.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(f"{self.url}/readyz") as response:
                    return response.status == 200
            return False

        await wait_for(ready, timeout=timeout, interval=0.05, what=f"{self.name}'s /readyz")

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no lease released, a request cut mid-flight."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM (a rollout's stop), then kill if it lingers."""
        if not self.alive:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), timeout=10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@dataclass
class Answer:
    """One HTTP answer a peer got for a notification."""

    marker: str
    replica: str
    status: int  # 0: the connection failed (refused, reset: a killed replica)
    retry_after: str | None
    sent_at: float  # time.monotonic()
    answered_at: float


@dataclass
class Peers:
    """Alertmanager's HA peers: every notification to two replicas, each peer retrying."""

    session: aiohttp.ClientSession
    replicas: list[Replica]
    answers: list[Answer] = field(default_factory=list)
    retry_seconds: float = 0.05

    async def _deliver(self, body: bytes, marker: str, first: Replica, rng: Any) -> None:
        """One peer: POST until a 200; after a failure the Service picks another replica."""
        target = first
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        while True:
            status, retry_after = 0, None
            sent_at = time.monotonic()
            try:
                async with self.session.post(
                    f"{target.url}/alertmanager", data=body, headers=headers
                ) as response:
                    await response.read()
                    status, retry_after = response.status, response.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError):
                pass
            answer = Answer(marker, target.name, status, retry_after, sent_at, time.monotonic())
            self.answers.append(answer)
            if status == 200:
                return
            await asyncio.sleep(self.retry_seconds)
            target = rng.choice(self.replicas)

    async def send(self, payload: dict[str, Any], marker: str, rng: Any) -> None:
        """Both peers at once, to two different replicas in random order."""
        body = json.dumps(payload).encode()
        pair = rng.sample(self.replicas, 2)
        await asyncio.gather(*(self._deliver(body, marker, r, rng) for r in pair))

    def acknowledged(self) -> set[str]:
        """Markers of notifications some replica answered 200."""
        return {a.marker for a in self.answers if a.status == 200}
