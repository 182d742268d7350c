"""Opens the one kubernetes-asyncio `ApiClient` the collectors share.

Called by `cluster.factory` (and `slack.service` for the actions); a kubeconfig file when
the settings name one, else the in-cluster service account. `raw_response` is the one
way collectors and actions read an answer undecoded. Failing to read the configuration
is a `ConfigError` naming the file, so `serve` and `triage` stop with a clear message.
"""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import yaml
from kubernetes_asyncio import client, config
from kubernetes_asyncio.config.config_exception import ConfigException

from bot.config import ConfigError


async def open_api_client(kubeconfig: Path | None) -> client.ApiClient:
    """An `ApiClient` from `kubeconfig`, or from the in-cluster environment when None."""
    configuration = client.Configuration()
    if kubeconfig is not None and not kubeconfig.is_file():
        raise ConfigError(f"kubeconfig {kubeconfig} does not exist or is not a file")
    try:
        if kubeconfig is not None:
            await config.load_kube_config(
                config_file=str(kubeconfig),
                client_configuration=configuration,
                persist_config=False,
            )
        else:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    # An empty or malformed file fails inside the loader with whatever it tripped on.
    except (ConfigException, OSError, ValueError, TypeError, AttributeError, yaml.YAMLError) as exc:
        where = f"kubeconfig {kubeconfig}" if kubeconfig else "in-cluster configuration"
        raise ConfigError(f"cannot load the {where}: {exc}") from exc
    return client.ApiClient(configuration=configuration)


async def raw_response(call: Awaitable[Any]) -> tuple[int, bytes]:
    """Status and body of a `_preload_content=False` call; the connection is released.

    Connection failures surface as `aiohttp.ClientError` for the caller to word.
    """
    response = await call
    try:
        raw: bytes = await response.read()
    finally:
        response.release()
    return int(response.status), raw
