"""Helpers for the drift service tests: settings, an app around DriftService, events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from bot.config import Settings
from bot.config_sections.drift import DriftModelSettings, DriftSettings
from bot.drift.service import DriftService
from bot.store.sqlite import Store

NAMESPACE, NAME = "models", "wine-quality-model"
FEATURES = ("acidity", "sugar", "alcohol", "color")


def drift_settings(tmp_path: Path, **model: Any) -> Settings:
    """Settings with one monitored model (overrides go to the model's settings)."""
    model_settings = {
        "namespace": NAMESPACE,
        "name": NAME,
        "features": FEATURES,
        "categorical": ("color",),
        "capture_rows": 200,
        **model,
    }
    drift = DriftSettings(
        min_rows=50,
        interval_seconds=3600,
        max_body_bytes=64 * 1024,
        window_rows=1_000,
        models=(DriftModelSettings(**model_settings),),
    )
    return Settings(data_dir=tmp_path, drift=drift)


def rows(n: int, seed: int, shift: float = 0.0) -> list[list[Any]]:
    """Rows of the test model: three numbers and a colour."""
    rng = np.random.default_rng(seed)
    colours = rng.choice(["red", "white"], n)
    return [
        [float(a), float(s), float(c), str(colour)]
        for a, s, c, colour in zip(
            rng.normal(7 + shift, 1, n), rng.normal(5, 2, n), rng.normal(11, 1, n), colours,
            strict=True,
        )
    ]  # fmt: skip


def binary_headers(event_id: str, kind: str = "request", name: str = NAME) -> dict[str, str]:
    """Headers of a binary-mode payload-logger event."""
    return {
        "Content-Type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-type": f"org.kubeflow.serving.inference.{kind}",
        "ce-source": "http://localhost:9081/",
        "ce-inferenceservicename": name,
        "ce-namespace": NAMESPACE,
        "ce-component": "predictor",
        "ce-endpoint": "",
    }


def v2_request(batch: list[list[Any]]) -> dict[str, Any]:
    """A v2 request with one tensor per feature."""
    return {
        "inputs": [
            {
                "name": feature,
                "shape": [len(batch)],
                "datatype": "BYTES" if feature == "color" else "FP64",
                "data": [row[i] for row in batch],
            }
            for i, feature in enumerate(FEATURES)
        ]
    }


class Harness:
    """A running DriftService, on its own open store, behind a test client."""

    def __init__(
        self,
        service: DriftService,
        store: Store,
        client: TestClient[Any, Any],
        registry: CollectorRegistry,
    ):
        self.service = service
        self.store = store
        self.client = client
        self.registry = registry
        self.stopped = False

    async def stop(self) -> None:
        """Close the service, then its store, as the application does at shutdown."""
        if not self.stopped:
            self.stopped = True
            await self.service.close()
            await self.store.close()

    async def post_event(
        self, event_id: str, body: Any, kind: str = "request", name: str = NAME
    ) -> tuple[int, dict[str, Any]]:
        response = await self.client.post(
            "/ingest/kserve", data=json.dumps(body), headers=binary_headers(event_id, kind, name)
        )
        return response.status, await response.json()

    def counter(self, outcome: str) -> float:
        value = self.registry.get_sample_value(
            "triage_bot_drift_ingest_total", {"outcome": outcome}
        )
        return float(value or 0.0)


@pytest.fixture
async def start_harness(
    aiohttp_client: Callable[..., Any], tmp_path: Path
) -> AsyncIterator[Callable[[Settings], Any]]:
    harnesses: list[Harness] = []

    async def start(settings: Settings) -> Harness:
        # One database file per test: a second harness is the same service restarted.
        store = Store(tmp_path / "x.sqlite3", synchronous="normal")
        await store.open()
        registry = CollectorRegistry()
        service = DriftService(
            settings.drift, registry, store, data_dir=settings.data_dir,
            body_timeout_seconds=settings.body_timeout_seconds,
        )  # fmt: skip
        try:
            await service.start()
        except BaseException:
            await store.close()
            raise
        app = web.Application()
        app.add_routes(service.routes())
        harness = Harness(service, store, await aiohttp_client(app), registry)
        harnesses.append(harness)
        return harness

    yield start
    for harness in harnesses:
        await harness.stop()
