"""A fake Kubernetes API server speaking the real wire format, for tests and benches.

Tests reach it through the real kubernetes-asyncio client and a kubeconfig written by
`FakeKube.write_kubeconfig`, so paths, query parameters, JSON bodies, Status errors and
content types are exercised as in a cluster. It is generic: any resource under
`/api/v1/...` or `/apis/{group}/{version}/...` is stored by
(apiVersion, plural, namespace, name). Usage::

    async with running_fake_kube() as kube:
        kube.add({"apiVersion": "v1", "kind": "Pod", "metadata": {...}, ...})
        kube.set_log("models", "wine-abc", "kserve-container", "Traceback ...")
        kube.fault("/pods", status=403)          # RBAC denial with a real Status body
        kube.fault("/inferenceservices/", delay=5)  # a slow call
        kube.latency = 0.05                      # every call waits 50 ms
        config = kube.write_kubeconfig(tmp_path / "kubeconfig")
        ...
        assert kube.calls("GET", "/pods")         # the request log

Served: list (labelSelector equality/set/existence, fieldSelector on any dotted path,
`watch=true` streams ADDED/MODIFIED/DELETED lines until `timeoutSeconds`), get, create
(POST, `generateName` too), replace (PUT), merge-patch, strategic-merge-patch (treated as
a merge patch) and JSON-patch (PATCH, returns the object), delete, the `status`
subresource, and `pods/{name}/log` with `container`, `previous` and `tailLines`. Core
events are visible through both `v1` and `events.k8s.io/v1`, with `eventTime: null` where
the kubelet would leave it unset. The HTTP handlers live in tests/fakes/kube_http.py.

Note for PATCH on custom objects: kubernetes-asyncio sends a dict body as
`application/json-patch+json` unless told otherwise, which a real server (and this fake)
refuses with 400; pass `_content_type="application/merge-patch+json"`.
"""

from __future__ import annotations

import copy
import json
import re
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes import kube_objects as ko
from tests.fakes.kube_http import KubeHttp
from tests.fakes.kube_objects import JSON
from tests.fakes.kube_requests import Call, Fault, Route, Watcher, parse_path

__all__ = ["Call", "FakeKube", "Fault", "Route", "parse_path", "running_fake_kube"]

Key = tuple[str, str, str, str]  # apiVersion, plural, namespace ("" if cluster-scoped), name


class FakeKube:
    """The object store, logs, faults and request log behind the fake API server."""

    def __init__(self, token: str = "fake-token") -> None:
        self.token = token
        self.objects: dict[Key, JSON] = {}
        self.logs: dict[tuple[str, str, str, bool], str] = {}
        self.faults: list[Fault] = []
        self.requests: list[Call] = []
        self.latency = 0.0
        self.url = ""
        self.version = 1000
        self.watchers: list[Watcher] = []

    # --- the test side ------------------------------------------------------------------------

    def add(self, obj: JSON, plural: str | None = None) -> JSON:
        """Store an object as the server would (uid, resourceVersion, timestamps filled)."""
        obj = copy.deepcopy(obj)
        api_version = obj.get("apiVersion", "v1")
        plural = plural or ko.plural_of(obj.get("kind", ""))
        meta = obj.setdefault("metadata", {})
        self._stamp(meta, created=True)
        key = (api_version, plural, meta.get("namespace", ""), meta["name"])
        event = "MODIFIED" if key in self.objects else "ADDED"
        self.objects[key] = obj
        self.notify(event, key, obj)
        return obj

    def get(self, api_version: str, plural: str, namespace: str, name: str) -> JSON | None:
        """The stored object, or None."""
        return self.objects.get((api_version, plural, namespace, name))

    def update(self, api_version: str, plural: str, namespace: str, name: str, patch: JSON) -> JSON:
        """Merge-patch a stored object from the test side (e.g. mark a Job complete)."""
        key = (api_version, plural, namespace, name)
        obj: dict[str, Any] = ko.merge_patch(self.objects[key], patch)
        self._stamp(obj["metadata"], created=False)
        self.objects[key] = obj
        self.notify("MODIFIED", key, obj)
        return obj

    def remove(self, api_version: str, plural: str, namespace: str, name: str) -> None:
        """Delete a stored object from the test side."""
        key = (api_version, plural, namespace, name)
        obj = self.objects.pop(key)
        self.notify("DELETED", key, obj)

    def set_log(
        self, namespace: str, pod: str, container: str, text: str, *, previous: bool = False
    ) -> None:
        """The log text `pods/{pod}/log` serves for a container (current or previous)."""
        self.logs[(namespace, pod, container, previous)] = text

    def fault(
        self,
        pattern: str,
        *,
        method: str | None = None,
        status: int | None = None,
        message: str = "",
        delay: float = 0.0,
        drop: bool = False,
        times: int | None = None,
    ) -> Fault:
        """Inject a failure for matching paths: a status, a delay, or a dropped connection."""
        injected = Fault(pattern, method, status, message, delay, drop, times)
        self.faults.append(injected)
        return injected

    def calls(self, method: str | None = None, pattern: str = "") -> list[Call]:
        """Recorded requests, filtered by method and a path regular expression."""
        return [
            c
            for c in self.requests
            if (method is None or c.method == method) and re.search(pattern, c.path)
        ]

    def write_kubeconfig(self, path: Path, namespace: str = "default") -> Path:
        """A kubeconfig file pointing at this server with a bearer token."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": self.token}}],
            "contexts": [
                {
                    "name": "fake",
                    "context": {"cluster": "fake", "user": "fake", "namespace": namespace},
                }
            ],
            "current-context": "fake",
        }
        path.write_text(json.dumps(config, indent=2), encoding="utf-8")  # JSON is YAML
        return path

    def app(self) -> web.Application:
        """The aiohttp application serving this store."""
        return KubeHttp(self).app()

    # --- the server side (used by kube_http) --------------------------------------------------

    def visible(self, api_version: str, plural: str, key: Key) -> bool:
        """Whether a stored object shows under a resource (events under both versions)."""
        if plural == "events" and api_version in ko.EVENT_VERSIONS:
            return key[1] == "events" and key[0] in ko.EVENT_VERSIONS
        return key[0] == api_version and key[1] == plural

    def shown(self, api_version: str, plural: str, obj: JSON) -> JSON:
        """A copy of the object as that API version presents it."""
        if plural == "events" and api_version in ko.EVENT_VERSIONS:
            return ko.event_as(obj, api_version)
        return copy.deepcopy(obj)

    def selected(self, obj: JSON, query: Any) -> bool:
        """Whether the object passes the request's label and field selectors."""
        labels = obj.get("metadata", {}).get("labels") or {}
        if not ko.label_selector_matches(query.get("labelSelector", ""), labels):
            return False
        return ko.field_selector_matches(query.get("fieldSelector", ""), obj)

    def matching(self, route: Route, query: Any) -> list[JSON]:
        """The objects a list request returns, in a stable order."""
        items = []
        for key, obj in sorted(self.objects.items()):
            if not self.visible(route.api_version, route.plural, key):
                continue
            if route.namespace and key[2] != route.namespace:
                continue
            shown = self.shown(route.api_version, route.plural, obj)
            if self.selected(shown, query):
                items.append(shown)
        return items

    def find(self, route: Route) -> tuple[Key, JSON] | None:
        """The stored object a path names, with its key."""
        for key, obj in self.objects.items():
            if self.visible(route.api_version, route.plural, key) and key[2:] == (
                route.namespace,
                route.name,
            ):
                return key, obj
        return None

    def store_change(self, key: Key, old: JSON, new: JSON) -> JSON:
        """Replace an object as the server does: identity kept, generation bumped on spec."""
        new = copy.deepcopy(new)
        meta = new.setdefault("metadata", {})
        for kept in ("uid", "creationTimestamp", "namespace", "name"):
            if kept in old.get("metadata", {}):
                meta[kept] = old["metadata"][kept]
        meta["generation"] = old["metadata"].get("generation", 1) + (
            1 if new.get("spec") != old.get("spec") else 0
        )
        self._stamp(meta, created=False)
        self.objects[key] = new
        self.notify("MODIFIED", key, new)
        return new

    def notify(self, kind: str, key: Key, obj: JSON) -> None:
        """Queue a watch event for every open watch that sees the object."""
        for watcher in self.watchers:
            if self.visible(watcher.api_version, watcher.plural, key) and (
                not watcher.namespace or watcher.namespace == key[2]
            ):
                shown = self.shown(watcher.api_version, watcher.plural, obj)
                if self.selected(shown, watcher.query):
                    watcher.queue.put_nowait({"type": kind, "object": shown})

    def close_watchers(self) -> None:
        """End every open watch (server shutdown)."""
        for watcher in self.watchers:
            watcher.queue.put_nowait(None)

    def _stamp(self, meta: JSON, *, created: bool) -> None:
        self.version += 1
        meta["resourceVersion"] = str(self.version)
        if created:
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", ko.now_rfc3339())
            meta.setdefault("generation", 1)


@asynccontextmanager
async def running_fake_kube(token: str = "fake-token") -> AsyncIterator[FakeKube]:
    """Start a FakeKube on a free loopback port; stop it on exit."""
    kube = FakeKube(token)
    # Handlers die with their client (a timed-out call must not hold the shutdown).
    runner = web.AppRunner(
        kube.app(), handle_signals=False, handler_cancellation=True, shutdown_timeout=0.5
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    kube.url = f"http://127.0.0.1:{port}"
    try:
        yield kube
    finally:
        await runner.cleanup()


def unused_kubeconfig(path: Path) -> Path:
    """A kubeconfig pointing at a loopback port nothing listens on (API server down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kube = FakeKube()
    kube.url = f"http://127.0.0.1:{port}"
    return kube.write_kubeconfig(path)
