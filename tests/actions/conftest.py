"""Fixtures of the action tests: a fake Kubernetes API and the clients the actions use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kubernetes_asyncio import client

from bot.actions.kube import KubeWriter
from bot.cluster.client import open_api_client
from bot.cluster.reader import KubeReader
from tests.fakes.fake_kube import FakeKube, running_fake_kube


@pytest.fixture
async def kube() -> AsyncIterator[FakeKube]:
    async with running_fake_kube() as fake:
        yield fake


@pytest.fixture
async def api(kube: FakeKube, tmp_path: Path) -> AsyncIterator[client.ApiClient]:
    opened = await open_api_client(kube.write_kubeconfig(tmp_path / "kubeconfig"))
    yield opened
    await opened.close()


@pytest.fixture
def reader(api: client.ApiClient) -> KubeReader:
    return KubeReader(api)


@pytest.fixture
def writer(api: client.ApiClient) -> KubeWriter:
    return KubeWriter(api)
