"""Every read the collectors make, as raw JSON, with errors a person understands.

Called by the collectors in `bot.cluster`; hands off to kubernetes-asyncio's generated
API classes for paths, query strings and authentication, but asks for the undecoded body
(`_preload_content=False`). The generated models reject shapes real clusters send (core
events read through events.k8s.io/v1 carry `eventTime: null`) and decoding hundreds of
pods through them is slow; plain JSON with tolerant readers has neither problem.
Exactly these reads are granted by `manifests/base/role-read.yaml`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import aiohttp
from kubernetes_asyncio import client

from bot.cluster.client import raw_response
from bot.cluster.parsing import items
from bot.model.collector import CollectorError
from bot.model.names import NameKind, name_problem

JSON = dict[str, Any]

KSERVE = ("serving.kserve.io", "v1beta1")
ISVC_LABEL = "serving.kserve.io/inferenceservice"
LIST_LIMIT = 500


@dataclass(frozen=True)
class CustomResource:
    """A custom resource type the collectors list: its API group, version and plural."""

    group: str
    version: str
    plural: str
    shown: str  # in error notes, e.g. "knative revisions"

    @property
    def api_version(self) -> str:
        """`group/version`, as objects of the type carry it."""
        return f"{self.group}/{self.version}"


REVISIONS = CustomResource("serving.knative.dev", "v1", "revisions", "knative revisions")
POD_AUTOSCALERS = CustomResource(
    "autoscaling.internal.knative.dev", "v1alpha1", "podautoscalers", "knative podautoscalers"
)


class NotFound(CollectorError):
    """The API answered 404: the object, or the whole resource type, does not exist."""


def _status_message(raw: bytes) -> str:
    try:
        body = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace").strip()[:200]
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def read_failure(error: BaseException, what: str) -> CollectorError:
    """The note for reads made together that all failed, from the first failure.

    A `CollectorError` already says what went wrong; anything else is named by its type,
    e.g. "reading logs failed: TimeoutError: ...". Used by the logs and nodes collectors.
    """
    if isinstance(error, CollectorError):
        return error
    return CollectorError(f"{what} failed: {type(error).__name__}: {error}")


def _checked(**names: tuple[str, NameKind]) -> None:
    """Refuse a name that is no valid Kubernetes name before it enters a path or selector.

    `triage.target` already left such names out; this is the last check at the edge, so a
    caller that skipped it still cannot send `..` or a comma to the API server.
    """
    for what, (value, kind) in names.items():
        problem = name_problem(value, kind)
        if problem is not None:
            raise CollectorError(f"not requested: {what} {problem}")


async def _body(call: Awaitable[Any], what: str) -> bytes:
    """The body of a successful response; `CollectorError` naming `what` otherwise."""
    try:
        status, raw = await raw_response(call)
    except aiohttp.ClientConnectorError as exc:
        raise CollectorError(f"Kubernetes API unreachable {what}: {exc.strerror or exc}") from exc
    except aiohttp.ClientError as exc:
        reason = str(exc) or type(exc).__name__
        raise CollectorError(f"Kubernetes API connection failed {what}: {reason}") from exc
    if 200 <= status < 300:
        return raw
    phrase = HTTPStatus(status).phrase.lower() if status in HTTPStatus._value2member_map_ else ""
    detail = _status_message(raw)
    message = f"Kubernetes API: {status} {phrase} {what}" + (f" ({detail})" if detail else "")
    if status == 404:
        raise NotFound(message)
    raise CollectorError(message)


async def _json(call: Awaitable[Any], what: str) -> JSON:
    raw = await _body(call, what)
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise CollectorError(f"Kubernetes API sent a body that is not JSON {what}") from exc
    if not isinstance(data, dict):
        raise CollectorError(f"Kubernetes API sent an unexpected body {what}")
    return data


async def _list(call: Awaitable[Any], what: str) -> list[JSON]:
    """The objects of a successful list response."""
    return items((await _json(call, what)).get("items"))


class KubeReader:
    """The collectors' read-only view of one cluster, over one shared `ApiClient`."""

    def __init__(self, api: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api)
        self._apps = client.AppsV1Api(api)
        self._events = client.EventsV1Api(api)
        self._custom = client.CustomObjectsApi(api)
        self._autoscaling = client.AutoscalingV2Api(api)

    async def inference_service(self, namespace: str, name: str) -> JSON:
        """GET one InferenceService."""
        _checked(namespace=(namespace, "label"), inferenceservice=(name, "label"))
        call = self._custom.get_namespaced_custom_object(
            *KSERVE, namespace, "inferenceservices", name, _preload_content=False
        )
        return await _json(call, f"getting inferenceservice {namespace}/{name}")

    async def knative_revisions(self, namespace: str, isvc: str) -> list[JSON]:
        """LIST the Knative Revisions of an InferenceService (serverless mode)."""
        return await self._isvc_objects(REVISIONS, namespace, isvc)

    async def replica_sets(self, namespace: str, isvc: str) -> list[JSON]:
        """LIST the ReplicaSets of an InferenceService (raw deployment mode)."""
        _checked(namespace=(namespace, "label"), inferenceservice=(isvc, "label"))
        call = self._apps.list_namespaced_replica_set(
            namespace, label_selector=f"{ISVC_LABEL}={isvc}", _preload_content=False
        )
        return await _list(call, f"listing replicasets in {namespace}")

    async def autoscalers(self, namespace: str) -> list[JSON]:
        """LIST the HorizontalPodAutoscalers of a namespace (autoscaling/v2)."""
        _checked(namespace=(namespace, "label"))
        call = self._autoscaling.list_namespaced_horizontal_pod_autoscaler(
            namespace, limit=LIST_LIMIT, _preload_content=False
        )
        return await _list(call, f"listing horizontalpodautoscalers in {namespace}")

    async def pod_autoscalers(self, namespace: str, isvc: str) -> list[JSON]:
        """LIST the Knative PodAutoscalers of an InferenceService (serverless mode)."""
        return await self._isvc_objects(POD_AUTOSCALERS, namespace, isvc)

    async def _isvc_objects(
        self, resource: CustomResource, namespace: str, isvc: str
    ) -> list[JSON]:
        """LIST the custom objects KServe labels with the InferenceService's name."""
        _checked(namespace=(namespace, "label"), inferenceservice=(isvc, "label"))
        call = self._custom.list_namespaced_custom_object(
            resource.group,
            resource.version,
            namespace,
            resource.plural,
            label_selector=f"{ISVC_LABEL}={isvc}",
            _preload_content=False,
        )
        return await _list(call, f"listing {resource.shown} in {namespace}")

    async def node(self, name: str) -> JSON:
        """GET one Node (cluster-scoped): its conditions say whether it is healthy."""
        _checked(node=(name, "subdomain"))
        call = self._core.read_node(name, _preload_content=False)
        return await _json(call, f"getting node {name}")

    async def pods(
        self,
        namespace: str,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[JSON]:
        """LIST pods by label and/or field selector (at most `LIST_LIMIT`)."""
        _checked(namespace=(namespace, "label"))
        for selector in (label_selector, field_selector):  # one `key=name` term each
            if selector:
                _checked(selector=(selector.partition("=")[2], "subdomain"))
        call = self._core.list_namespaced_pod(
            namespace,
            label_selector=label_selector or "",
            field_selector=field_selector or "",
            limit=LIST_LIMIT,
            _preload_content=False,
        )
        return await _list(call, f"listing pods in {namespace}")

    async def warning_events(self, namespace: str) -> list[JSON]:
        """LIST Warning events, events.k8s.io/v1 shape; core/v1 where that API is missing."""
        _checked(namespace=(namespace, "label"))
        try:
            call = self._events.list_namespaced_event(
                namespace, field_selector="type=Warning", limit=LIST_LIMIT, _preload_content=False
            )
            return await _list(call, f"listing events in {namespace}")
        except NotFound:
            core = self._core.list_namespaced_event(
                namespace, field_selector="type=Warning", limit=LIST_LIMIT, _preload_content=False
            )
            return await _list(core, f"listing core events in {namespace}")

    async def log(
        self, namespace: str, pod: str, container: str, *, previous: bool, tail_lines: int
    ) -> str:
        """GET the tail of one container's log (the terminated instance when `previous`)."""
        _checked(
            namespace=(namespace, "label"), pod=(pod, "subdomain"), container=(container, "label")
        )
        call = self._core.read_namespaced_pod_log(
            pod,
            namespace,
            container=container,
            previous=previous,
            tail_lines=tail_lines,
            _preload_content=False,
        )
        which = "previous log" if previous else "log"
        raw = await _body(call, f"reading the {which} of {namespace}/{pod}/{container}")
        return raw.decode("utf-8", "replace")
