"""Plain data of the fake Kubernetes API's requests: routes, faults, the request log, watches.

Shared by `tests.fakes.fake_kube` (the store) and `tests.fakes.kube_http` (the handlers).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.kube_objects import JSON

_CORE = re.compile(
    r"^/api/(?P<version>v1)(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/]+)"
    r"(?:/(?P<name>[^/]+)(?:/(?P<sub>[^/]+))?)?$"
)
_GROUP = re.compile(
    r"^/apis/(?P<group>[^/]+)/(?P<version>[^/]+)(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/]+)"
    r"(?:/(?P<name>[^/]+)(?:/(?P<sub>[^/]+))?)?$"
)


@dataclass(frozen=True)
class Route:
    """What a request path names: resource, namespace, object name, subresource."""

    api_version: str
    plural: str
    namespace: str
    name: str
    sub: str


def parse_path(path: str) -> Route | None:
    """The resource a request path names, or None for paths outside the API."""
    match = _CORE.match(path)
    if match:
        api_version = "v1"
    else:
        match = _GROUP.match(path)
        if not match:
            return None
        api_version = f"{match['group']}/{match['version']}"
    return Route(
        api_version, match["plural"], match["ns"] or "", match["name"] or "", match["sub"] or ""
    )


@dataclass
class Fault:
    """What to do to requests whose path matches `pattern` (a regular expression)."""

    pattern: str
    method: str | None = None
    status: int | None = None
    message: str = ""
    delay: float = 0.0
    drop: bool = False
    times: int | None = None  # None: every time

    def applies(self, method: str, path: str) -> bool:
        """True when this fault hits the request (and has uses left)."""
        if self.times is not None and self.times <= 0:
            return False
        if self.method and self.method != method:
            return False
        return re.search(self.pattern, path) is not None


@dataclass(frozen=True)
class Call:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    body: Any = None


@dataclass
class Watcher:
    """One open `watch=true` request and the events still to send it."""

    api_version: str
    plural: str
    namespace: str
    query: dict[str, str]
    queue: asyncio.Queue[JSON | None] = field(default_factory=asyncio.Queue)
