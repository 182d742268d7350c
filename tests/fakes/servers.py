"""Real Prometheus and Alertmanager on loopback, a model server simulator to scrape, and a
webhook receiver standing in for the bot.

Used by tests/promql (the collector against a real Prometheus), tests/manifests (the real
Alertmanager routing with our config) and the end-to-end test (Prometheus evaluating our
rules, Alertmanager routing to the bot). The binaries are the
Debian ones (`prometheus`, `prometheus-alertmanager`); each server gets a temporary config,
a temporary storage dir and a free loopback port, and is killed on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

PROMETHEUS_BIN = "prometheus"
ALERTMANAGER_BIN = "prometheus-alertmanager"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def free_port() -> int:
    """A loopback TCP port free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """`app` on a free loopback port until the block ends; yields `http://host:port`."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


# (request headers, JSON body) of one webhook notification
Notification = tuple[dict[str, str], dict[str, Any]]


@contextlib.asynccontextmanager
async def running_webhook_receiver(
    received: list[Notification], *, token: str | None = None
) -> AsyncIterator[str]:
    """An Alertmanager webhook receiver until the block ends; yields its `/alertmanager` URL.

    Appends each notification to `received`. With `token`, one without that bearer token is
    refused with 401 and not recorded, as the bot refuses it.
    """

    async def hook(request: web.Request) -> web.Response:
        if token is not None and request.headers.get("Authorization") != f"Bearer {token}":
            return web.json_response({"error": "missing or wrong bearer token"}, status=401)
        received.append((dict(request.headers), await request.json()))
        return web.json_response({"status": "accepted"})

    app = web.Application()
    app.router.add_post("/alertmanager", hook)
    async with serving(app) as url:
        yield url + "/alertmanager"


# --- the model server simulator ---------------------------------------------------------


@dataclass
class ModelTraffic:
    """One simulated model: request rate, error ratio and latency, switchable at run time."""

    model: str
    namespace: str = "models"
    requests_per_second: float = 100.0
    error_ratio: float = 0.0
    latency_seconds: float = 0.02
    requests: float = 0.0
    errors: float = 0.0
    latency_sum: float = 0.0
    first_bad_scrape: float | None = None  # unix time of the first scrape with errors

    def advance(self, seconds: float) -> None:
        """Count the requests of `seconds` at the current rate, ratio and latency."""
        served = self.requests_per_second * seconds
        self.requests += served
        self.errors += served * self.error_ratio
        self.latency_sum += served * self.latency_seconds


@dataclass
class PodUsage:
    """A pod container's resource use and limits, as cAdvisor and kube-state-metrics show."""

    pod: str
    container: str = "kserve-container"
    namespace: str = "models"
    memory_bytes: float = 200e6
    memory_limit_bytes: float | None = 1e9
    cpu_cores: float = 0.25
    cpu_limit_cores: float | None = 1.0
    cpu_seconds: float = 0.0


@dataclass
class ModelSimulator:
    """Serves `/metrics` like a model server (plus cAdvisor/kube-state-metrics series).

    Counters advance by wall-clock time at each scrape, so rates in Prometheus equal the
    configured ones whatever the scrape timing.
    """

    models: list[ModelTraffic]
    pods: list[PodUsage] = field(default_factory=list)
    url: str = ""
    scrapes: int = 0
    _last: float = field(default_factory=time.monotonic)

    @property
    def target(self) -> str:
        """`host:port` for a Prometheus scrape config."""
        return self.url.removeprefix("http://").removesuffix("/metrics")

    def model(self, name: str) -> ModelTraffic:
        """The simulated model of that name."""
        return next(m for m in self.models if m.model == name)

    def set_error_ratio(self, name: str, ratio: float) -> None:
        """Switch a model's error ratio from the next moment on."""
        self._advance()
        traffic = self.model(name)
        traffic.error_ratio = ratio
        if ratio == 0:
            traffic.first_bad_scrape = None

    def _advance(self) -> None:
        now = time.monotonic()
        elapsed, self._last = now - self._last, now
        for m in self.models:
            m.advance(elapsed)
        for p in self.pods:
            p.cpu_seconds += p.cpu_cores * elapsed

    def exposition(self) -> str:
        """The text exposition format of every series."""
        self._advance()
        self.scrapes += 1
        out = [
            "# TYPE request_count counter",
            "# TYPE request_error_count counter",
            "# TYPE request_latency_seconds histogram",
        ]
        for m in self.models:
            if m.error_ratio > 0 and m.first_bad_scrape is None:
                m.first_bad_scrape = time.time()
            labels = f'namespace="{m.namespace}",model="{m.model}"'
            out.append(f"request_count{{{labels}}} {m.requests:.3f}")
            out.append(f"request_error_count{{{labels}}} {m.errors:.3f}")
            for bound in (*LATENCY_BUCKETS, math.inf):
                le = "+Inf" if bound == math.inf else f"{bound:g}"
                count = m.requests if m.latency_seconds <= bound else 0.0
                out.append(f'request_latency_seconds_bucket{{{labels},le="{le}"}} {count:.3f}')
            out.append(f"request_latency_seconds_sum{{{labels}}} {m.latency_sum:.3f}")
            out.append(f"request_latency_seconds_count{{{labels}}} {m.requests:.3f}")
        out += [
            "# TYPE container_memory_working_set_bytes gauge",
            "# TYPE container_cpu_usage_seconds_total counter",
            "# TYPE kube_pod_container_resource_limits gauge",
        ]
        for p in self.pods:
            labels = f'namespace="{p.namespace}",pod="{p.pod}",container="{p.container}"'
            out.append(f"container_memory_working_set_bytes{{{labels}}} {p.memory_bytes:.0f}")
            out.append(f"container_cpu_usage_seconds_total{{{labels}}} {p.cpu_seconds:.4f}")
            if p.memory_limit_bytes is not None:
                out.append(
                    f'kube_pod_container_resource_limits{{{labels},resource="memory",unit="byte"}}'
                    f" {p.memory_limit_bytes:.0f}"
                )
            if p.cpu_limit_cores is not None:
                out.append(
                    f'kube_pod_container_resource_limits{{{labels},resource="cpu",unit="core"}}'
                    f" {p.cpu_limit_cores:g}"
                )
        return "\n".join(out) + "\n"

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(text=self.exposition(), content_type="text/plain")


@contextlib.asynccontextmanager
async def running_model_simulator(
    models: Sequence[ModelTraffic], pods: Sequence[PodUsage] = ()
) -> AsyncIterator[ModelSimulator]:
    """A model server simulator listening on a free loopback port until the block ends."""
    simulator = ModelSimulator(list(models), list(pods))
    app = web.Application()
    app.router.add_get("/metrics", simulator._metrics)
    async with serving(app) as url:
        simulator.url = url + "/metrics"
        yield simulator


# --- real servers ----------------------------------------------------------------------


@dataclass
class ServerProcess:
    """A started server: its URL, its log, its process."""

    url: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log, for failure messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


async def _wait_ready(server: ServerProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                break
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(
                    server.url + "/-/ready", timeout=aiohttp.ClientTimeout(total=1)
                ) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{server.url} did not become ready:\n{server.log_tail()}")


@contextlib.asynccontextmanager
async def _running(
    name: str,
    config: dict[str, Any],
    argv: Callable[[Path, int], list[str]],
    workdir: Path,
    timeout: float,
) -> AsyncIterator[ServerProcess]:
    """Write `config` as `<name>.yml`, start `argv(config_path, port)`, wait until ready."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / f"{name}.yml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            argv(config_path, port),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            env={**os.environ, "GOMAXPROCS": "1"},
        )
    server = ServerProcess(f"http://127.0.0.1:{port}", port, log_path, process)
    try:
        await _wait_ready(server, timeout)
        yield server
    finally:
        # Storage is temporary: no graceful shutdown needed.
        process.kill()
        process.wait(timeout=10)


def prometheus_config(
    targets: Sequence[str],
    *,
    rule_files: Sequence[Path] = (),
    alertmanagers: Sequence[str] = (),
    scrape_interval: str = "1s",
    evaluation_interval: str = "1s",
) -> dict[str, Any]:
    """A Prometheus config scraping `targets` (host:port) as job `model`."""
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": scrape_interval,
            "scrape_timeout": scrape_interval,
            "evaluation_interval": evaluation_interval,
        },
        "scrape_configs": [
            {
                "job_name": "model",
                "honor_labels": True,
                "static_configs": [{"targets": list(targets)}],
            }
        ],
    }
    if rule_files:
        config["rule_files"] = [str(p) for p in rule_files]
    if alertmanagers:
        config["alerting"] = {
            "alertmanagers": [
                {"api_version": "v2", "static_configs": [{"targets": list(alertmanagers)}]}
            ]
        }
    return config


@contextlib.asynccontextmanager
async def running_prometheus(
    workdir: Path, config: dict[str, Any], *, timeout: float = 30.0, retention: str = "1h"
) -> AsyncIterator[ServerProcess]:
    """The real `prometheus` with this config on a free loopback port until the block ends."""

    def argv(config_path: Path, port: int) -> list[str]:
        return [
            PROMETHEUS_BIN,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.retention.time={retention}",
            "--log.level=warn",
        ]

    async with _running("prometheus", config, argv, workdir, timeout) as server:
        yield server


def alertmanager_config(
    webhook_url: str,
    *,
    token_file: Path | None = None,
    group_interval: str = "2s",
) -> dict[str, Any]:
    """An Alertmanager config sending every alert to `webhook_url`, resolved ones too."""
    receiver: dict[str, Any] = {"url": webhook_url, "send_resolved": True}
    if token_file is not None:
        receiver["http_config"] = {
            "authorization": {"type": "Bearer", "credentials_file": str(token_file)}
        }
    return {
        "route": {
            "receiver": "triage-bot",
            "group_by": ["alertname", "namespace", "model"],
            "group_wait": "1s",
            "group_interval": group_interval,
            "repeat_interval": "1h",
        },
        "receivers": [{"name": "triage-bot", "webhook_configs": [receiver]}],
    }


@contextlib.asynccontextmanager
async def running_alertmanager(
    workdir: Path, config: dict[str, Any], *, timeout: float = 30.0
) -> AsyncIterator[ServerProcess]:
    """The real `prometheus-alertmanager`, clustering off, until the block ends."""

    def argv(config_path: Path, port: int) -> list[str]:
        return [
            ALERTMANAGER_BIN,
            f"--config.file={config_path}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]

    async with _running("alertmanager", config, argv, workdir, timeout) as server:
        yield server


def rules_from_prometheus_rule(
    manifest: dict[str, Any],
    *,
    for_override: str | None = None,
    range_override: str | None = None,
) -> dict[str, Any]:
    """The rule file inside a PrometheusRule object, optionally made quick for tests.

    `for_override` replaces every alert's `for:`; `range_override` every range selector
    (`[5m]`), so that an alert also resolves within seconds of the errors stopping.
    """
    groups = []
    for group in manifest["spec"]["groups"]:
        rules = []
        for rule in group["rules"]:
            rule = dict(rule)
            if for_override is not None and "alert" in rule and "for" in rule:
                rule["for"] = for_override
            if range_override is not None:
                rule["expr"] = re.sub(r"\[\d+[smhdw]\]", f"[{range_override}]", rule["expr"])
            rules.append(rule)
        groups.append({**group, "rules": rules})
    return {"groups": groups}


async def wait_for(
    check: Any, *, timeout: float, interval: float = 0.25, what: str = "condition"
) -> Any:
    """Await `check()` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(interval)
