"""The writes (and the few reads) the actions make to the Kubernetes API.

Called by `actions.rollback` and `actions.retrain`; hands off to kubernetes-asyncio's
generated API classes with `_preload_content=False` (plain JSON, as `cluster.reader`).
Exactly these writes are granted by the actions Role: patch inferenceservices, create jobs.
Failures become `ActionError` with the API's own message.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any

import aiohttp
from kubernetes_asyncio import client

from bot.actions.base import ActionError
from bot.cluster.client import raw_response

JSON = dict[str, Any]
KSERVE = ("serving.kserve.io", "v1beta1")
MERGE_PATCH = "application/merge-patch+json"


class Conflict(ActionError):
    """409: the object already exists (a repeated create)."""


async def _call(call: Awaitable[Any], what: str) -> JSON:
    try:
        status, raw = await raw_response(call)
    except aiohttp.ClientError as exc:
        raise ActionError(f"Kubernetes API unreachable {what}: {exc}") from exc
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = {"message": raw.decode("utf-8", "replace")[:200]}
    if 200 <= status < 300:
        return body if isinstance(body, dict) else {}
    message = str(body.get("message", "")) if isinstance(body, dict) else ""
    text = f"Kubernetes API: {status} {what}" + (f" ({message})" if message else "")
    if status == 409:
        raise Conflict(text)
    raise ActionError(text)


class KubeWriter:
    """Patches InferenceServices and creates/reads Jobs over a shared `ApiClient`."""

    def __init__(self, api: client.ApiClient) -> None:
        self._custom = client.CustomObjectsApi(api)
        self._batch = client.BatchV1Api(api)
        self._core = client.CoreV1Api(api)

    async def patch_inference_service(self, namespace: str, name: str, patch: JSON) -> JSON:
        """JSON merge patch of an InferenceService."""
        # The client would pick json-patch for a dict body; the type stubs omit the option.
        call = self._custom.patch_namespaced_custom_object(  # type: ignore[call-arg]
            *KSERVE,
            namespace,
            "inferenceservices",
            name,
            patch,
            _content_type=MERGE_PATCH,
            _preload_content=False,
        )
        return await _call(call, f"patching inferenceservice {namespace}/{name}")

    async def create_job(self, namespace: str, job: JSON) -> JSON:
        """POST a Job; `Conflict` when one of that name exists."""
        # Plain JSON is sent as is; the stubs only know the generated model.
        call = self._batch.create_namespaced_job(namespace, job, _preload_content=False)  # type: ignore[arg-type]
        return await _call(call, f"creating job {namespace}/{job['metadata']['name']}")

    async def job(self, namespace: str, name: str) -> JSON:
        """GET a Job with its status."""
        call = self._batch.read_namespaced_job(name, namespace, _preload_content=False)
        return await _call(call, f"reading job {namespace}/{name}")

    async def config_map(self, namespace: str, name: str) -> JSON:
        """GET a ConfigMap."""
        call = self._core.read_namespaced_config_map(name, namespace, _preload_content=False)
        return await _call(call, f"reading configmap {namespace}/{name}")
