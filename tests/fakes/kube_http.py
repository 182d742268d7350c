"""The HTTP side of the fake Kubernetes API: paths, verbs, Status errors, faults.

Built by `FakeKube.app()` (tests/fakes/fake_kube.py), which holds the objects; this
module turns requests into store reads and writes and answers in the API server's
wire format. See fake_kube.py for what is served and how tests use it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes import kube_objects as ko
from tests.fakes.kube_objects import JSON
from tests.fakes.kube_requests import Call, Fault, Route, Watcher, parse_path

if TYPE_CHECKING:
    from tests.fakes.fake_kube import FakeKube, Key

_BODY = web.RequestKey("json_body", object)


class KubeHttp:
    """aiohttp handlers over one `FakeKube`."""

    def __init__(self, kube: FakeKube) -> None:
        self.kube = kube

    def app(self) -> web.Application:
        """The application: one catch-all route behind the fault/latency middleware."""
        app = web.Application(middlewares=[self._middleware])
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        app.on_shutdown.append(self._close_watchers)
        return app

    async def _close_watchers(self, _app: web.Application) -> None:
        self.kube.close_watchers()

    def _changed(self, key: Key, old: JSON, new: JSON) -> web.Response:
        return web.json_response(self.kube.store_change(key, old, new))

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body:
            raw = await request.text()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
        self.kube.requests.append(Call(request.method, request.path, dict(request.query), body))
        request[_BODY] = body
        if self.kube.latency:
            await asyncio.sleep(self.kube.latency)
        if self.kube.token and request.headers.get("Authorization") != f"Bearer {self.kube.token}":
            return _status(401, "Unauthorized")
        for injected in self.kube.faults:
            if not injected.applies(request.method, request.path):
                continue
            if injected.times is not None:
                injected.times -= 1
            if injected.delay:
                await asyncio.sleep(injected.delay)
            if injected.drop:
                assert request.transport is not None
                request.transport.abort()
                raise asyncio.CancelledError
            if injected.status:
                return self._fault_status(request, injected)
        response: web.StreamResponse = await handler(request)
        return response

    def _fault_status(self, request: web.Request, injected: Fault) -> web.Response:
        route = parse_path(request.path)
        message = injected.message
        if not message and injected.status == 403 and route:
            # RBAC verbs, not HTTP methods: a PUT is "update", a list with ?watch is "watch".
            listing = "watch" if _truthy(request.query.get("watch")) else "list"
            verb = {"GET": "get" if route.name else listing, "POST": "create", "PUT": "update"}.get(
                request.method, request.method.lower()
            )
            resource = f"{route.plural}/{route.sub}" if route.sub else route.plural
            message = ko.forbidden_message(verb, resource, route.api_version, route.namespace)
        return _status(injected.status or 500, message or "injected failure")

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        route = parse_path(request.path)
        if route is None:
            return _status(404, "the server could not find the requested resource")
        method = request.method
        if route.sub == "log" and route.plural == "pods" and method == "GET":
            return self._log(route, request.query)
        if route.sub and route.sub != "status":
            return _status(404, "the server could not find the requested resource")
        if not route.name:
            if method == "GET":
                if _truthy(request.query.get("watch")):
                    return await self._watch(route, request)
                return self._list(route, request.query)
            if method == "POST":
                return self._create(route, request[_BODY])
        elif method == "GET":
            return self._get(route)
        elif method == "PUT":
            return self._replace(route, request[_BODY])
        elif method == "PATCH":
            return self._patch(route, request[_BODY], request.content_type)
        elif method == "DELETE":
            return self._delete(route)
        return _status(405, f"method {method} not allowed on {request.path}")

    def _not_found(self, route: Route) -> web.Response:
        ref = ko.resource_ref(route.plural, route.api_version)
        details = {
            "name": route.name,
            "group": ko.group_of(route.api_version),
            "kind": route.plural,
        }
        return _status(404, f'{ref} "{route.name}" not found', details=details)

    def _list(self, route: Route, query: Any) -> web.Response:
        if not ko.valid_label_selector(query.get("labelSelector", "")):
            return _status(400, f"unable to parse requirement: {query.get('labelSelector')}")
        body = {
            "kind": ko.kind_of(route.plural) + "List",
            "apiVersion": route.api_version,
            "metadata": {"resourceVersion": str(self.kube.version)},
            "items": self.kube.matching(route, query),
        }
        return web.json_response(body)

    async def _watch(self, route: Route, request: web.Request) -> web.StreamResponse:
        watcher = Watcher(route.api_version, route.plural, route.namespace, dict(request.query))
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for item in self.kube.matching(route, request.query):
            await response.write(json.dumps({"type": "ADDED", "object": item}).encode() + b"\n")
        self.kube.watchers.append(watcher)
        timeout = float(request.query.get("timeoutSeconds", "30"))
        try:
            async with asyncio.timeout(timeout):
                while (event := await watcher.queue.get()) is not None:
                    await response.write(json.dumps(event).encode() + b"\n")
        except TimeoutError:
            pass
        finally:
            self.kube.watchers.remove(watcher)
        await response.write_eof()
        return response

    def _get(self, route: Route) -> web.Response:
        found = self.kube.find(route)
        if found is None:
            return self._not_found(route)
        return web.json_response(self.kube.shown(route.api_version, route.plural, found[1]))

    def _create(self, route: Route, body: Any) -> web.Response:
        if not isinstance(body, dict):
            return _status(400, "the request body must be a JSON object")
        meta = body.setdefault("metadata", {})
        if not meta.get("name"):
            if not meta.get("generateName"):
                return _status(422, "metadata.name: Required value: name or generateName")
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if route.namespace:
            meta["namespace"] = route.namespace
        body.setdefault("apiVersion", route.api_version)
        existing = self.kube.find(
            Route(route.api_version, route.plural, route.namespace, meta["name"], "")
        )
        if existing is not None:
            ref = ko.resource_ref(route.plural, route.api_version)
            details = {
                "name": meta["name"],
                "group": ko.group_of(route.api_version),
                "kind": route.plural,
            }
            return _status(409, f'{ref} "{meta["name"]}" already exists', details=details)
        stored = self.kube.add(body, route.plural)
        return web.json_response(stored, status=201)

    def _replace(self, route: Route, body: Any) -> web.Response:
        found = self.kube.find(route)
        if found is None:
            return self._not_found(route)
        if not isinstance(body, dict):
            return _status(400, "the request body must be a JSON object")
        key, old = found
        given = body.get("metadata", {}).get("resourceVersion")
        if given and given != old["metadata"].get("resourceVersion"):
            return _status(
                409,
                "the object has been modified; please apply your changes to the latest version",
                reason="Conflict",
            )
        return self._changed(key, old, body)

    def _patch(self, route: Route, body: Any, content_type: str) -> web.Response:
        found = self.kube.find(route)
        if found is None:
            return self._not_found(route)
        key, old = found
        try:
            if content_type == "application/json-patch+json":
                if not isinstance(body, list):
                    return _status(400, "a JSON patch must be a list of operations")
                new = ko.json_patch(old, body)
            elif content_type in (
                "application/merge-patch+json",
                "application/strategic-merge-patch+json",
            ):
                if not isinstance(body, dict):
                    return _status(400, "a merge patch must be a JSON object")
                new = ko.merge_patch(old, body)
            else:
                return _status(
                    415, f"the body of the request was in an unknown format: {content_type}"
                )
        except ko.PatchError as exc:
            return _status(422, str(exc))
        return self._changed(key, old, new)

    def _delete(self, route: Route) -> web.Response:
        found = self.kube.find(route)
        if found is None:
            return self._not_found(route)
        key, obj = found
        del self.kube.objects[key]
        self.kube.notify("DELETED", key, obj)
        details = {
            "name": route.name,
            "group": ko.group_of(route.api_version),
            "kind": route.plural,
            "uid": obj["metadata"].get("uid", ""),
        }
        return _status(200, "", reason="", details=details)

    def _log(self, route: Route, query: Any) -> web.Response:
        found = self.kube.find(Route("v1", "pods", route.namespace, route.name, ""))
        if found is None:
            return self._not_found(Route("v1", "pods", route.namespace, route.name, ""))
        pod = found[1]
        names = [c["name"] for c in pod.get("spec", {}).get("containers", [])]
        names += [c["name"] for c in pod.get("spec", {}).get("initContainers", [])]
        container = query.get("container", "")
        if not container:
            if len(names) != 1:
                return _status(
                    400,
                    f"a container name must be specified for pod {route.name}, "
                    f"choose one of: [{' '.join(names)}]",
                )
            container = names[0]
        if container not in names:
            return _status(400, f"container {container} is not valid for pod {route.name}")
        previous = _truthy(query.get("previous"))
        text = self.kube.logs.get((route.namespace, route.name, container, previous))
        if text is None:
            if previous:
                return _status(
                    400,
                    f'previous terminated container "{container}" in pod "{route.name}" not found',
                )
            waiting = _waiting_reason(pod, container)
            if waiting:
                return _status(
                    400,
                    f'container "{container}" in pod "{route.name}" is waiting to start: {waiting}',
                )
            text = ""
        tail = query.get("tailLines")
        if tail is not None:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-int(tail) :]) if int(tail) > 0 else ""
        return web.Response(text=text, content_type="text/plain")


def _truthy(value: str | None) -> bool:
    """Query booleans as the API server's Go `strconv.ParseBool` reads them."""
    return value in ("1", "t", "T", "true", "TRUE", "True")


def _waiting_reason(pod: JSON, container: str) -> str:
    status = pod.get("status", {})
    for entry in status.get("containerStatuses", []) + status.get("initContainerStatuses", []):
        if entry.get("name") == container:
            waiting = entry.get("state", {}).get("waiting")
            return str(waiting.get("reason") or "ContainerCreating") if waiting else ""
    return ""


def _status(code: int, message: str, *, reason: str = "", details: Any = None) -> web.Response:
    body = ko.status_body(code, message, reason=reason, details=details)
    return web.json_response(body, status=code)
