"""Fixtures for the cluster tests: a running fake API server and a triage runner over it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cluster.factory import cluster_collectors
from bot.config import Settings
from bot.config_sections.triage import CollectorSettings
from bot.model.alert import Notification
from bot.model.evidence import Evidence
from bot.model.report import TriageReport
from bot.triage.pipeline import Pipeline
from bot.triage.verdict import decide
from tests.fakes.fake_kube import FakeKube, running_fake_kube
from tests.fakes.kube_scenarios import FIXTURE_ALERT_START, alert_payload

Triage = Callable[..., Awaitable[TriageReport]]


@pytest.fixture
async def kube() -> AsyncIterator[FakeKube]:
    """A fake Kubernetes API server on a loopback port."""
    async with running_fake_kube() as fake:
        yield fake


def cluster_settings(kubeconfig: Path, timeout: float = 3.0, budget: float = 8.0) -> Settings:
    """Settings that point the collectors at a kubeconfig, with test-sized time limits."""
    collectors = CollectorSettings(kubernetes_timeout_seconds=timeout, budget_seconds=budget)
    return Settings(kubeconfig=kubeconfig, in_cluster=False, collectors=collectors)


async def run_triage(
    kubeconfig: Path,
    *,
    start: datetime = FIXTURE_ALERT_START,
    timeout: float = 3.0,
    extra: Sequence[Evidence] = (),
    payload: dict[str, Any] | None = None,
) -> TriageReport:
    """One triage through the real client, the cluster collectors, the pipeline and decide.

    `extra` evidence (e.g. a `DriftEvidence`) is added before deciding, as the drift
    collector would add it.
    """
    settings = cluster_settings(kubeconfig, timeout=timeout)
    notification = Notification.model_validate(payload or alert_payload(start))

    def decide_with_extra(target: Any, evidence: Sequence[Evidence], n: Notification) -> Any:
        return decide(target, [*evidence, *extra], n)

    async with cluster_collectors(settings.kubeconfig, settings.collectors) as collectors:
        pipeline = Pipeline(collectors, decide_with_extra, budget_seconds=8.0)
        return await pipeline.run(notification)


@pytest.fixture
def triage(kube: FakeKube, tmp_path: Path) -> Triage:
    """Runs a triage against the `kube` fixture."""
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")

    async def run(**kwargs: Any) -> TriageReport:
        return await run_triage(kubeconfig, **kwargs)

    return run
