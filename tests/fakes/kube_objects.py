"""Pure helpers of the fake Kubernetes API: selectors, patches, Status bodies, events.

Used by `tests.fakes.fake_kube` (the server) and by scenario builders. Everything here
works on plain JSON dicts, the same shapes the real API server sends and accepts.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]

# kind -> plural, for objects added from Python without naming the resource.
PLURALS = {
    "Pod": "pods",
    "Event": "events",
    "Namespace": "namespaces",
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "Service": "services",
    "Node": "nodes",
    "Deployment": "deployments",
    "ReplicaSet": "replicasets",
    "Job": "jobs",
    "InferenceService": "inferenceservices",
    "Revision": "revisions",
    "Configuration": "configurations",
    "Route": "routes",
}

EVENT_VERSIONS = ("v1", "events.k8s.io/v1")


def now_rfc3339() -> str:
    """The current time the way the API server writes it."""
    return rfc3339(datetime.now(UTC))


def rfc3339(moment: datetime) -> str:
    """A timestamp in the API's format (seconds, Z)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plural_of(kind: str) -> str:
    """The resource name of a kind (lower-case plural)."""
    return PLURALS.get(kind, kind.lower() + "s")


def kind_of(plural: str) -> str:
    """The kind of a resource name, as well as the table knows it."""
    for kind, name in PLURALS.items():
        if name == plural:
            return kind
    return plural[:1].upper() + plural[1:-1]


def group_of(api_version: str) -> str:
    """The API group ("" for core) of an apiVersion."""
    return api_version.rpartition("/")[0]


# --- Status bodies ------------------------------------------------------------------------

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "AlreadyExists",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def status_body(code: int, message: str, *, reason: str = "", details: JSON | None = None) -> JSON:
    """A `Status` object like the API server returns with every error."""
    body: JSON = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if code < 400 else "Failure",
        "message": message,
        "reason": reason or _REASONS.get(code, "Unknown"),
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


def resource_ref(plural: str, api_version: str) -> str:
    """`pods` or `inferenceservices.serving.kserve.io`, as messages name resources."""
    group = group_of(api_version)
    return f"{plural}.{group}" if group else plural


def forbidden_message(verb: str, plural: str, api_version: str, namespace: str) -> str:
    """The wording of an RBAC denial."""
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    return (
        f'{resource_ref(plural, api_version)} is forbidden: User "system:serviceaccount:'
        f'triage:triage-bot" cannot {verb} resource "{plural}" in API group '
        f'"{group_of(api_version)}"{where}'
    )


# --- selectors ----------------------------------------------------------------------------

_SET_TERM = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_terms(selector: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def label_selector_matches(selector: str, labels: dict[str, str]) -> bool:
    """Equality (`=`, `==`, `!=`), set (`in`, `notin`) and existence (`k`, `!k`) terms."""
    for term in _split_terms(selector):
        set_match = _SET_TERM.match(term)
        if set_match:
            key, op, values = set_match.groups()
            options = {v.strip() for v in values.split(",")}
            inside = key in labels and labels[key] in options
            if inside != (op == "in"):
                return False
        elif "!=" in term:
            key, _, value = term.partition("!=")
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, _, value = term.replace("==", "=").partition("=")
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif term not in labels:
            return False
    return True


def valid_label_selector(selector: str) -> bool:
    """False for selectors the real server rejects with 400 (unbalanced parentheses)."""
    return selector.count("(") == selector.count(")")


def _field(obj: JSON, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def field_selector_matches(selector: str, obj: JSON) -> bool:
    """Dotted-path terms joined by commas, e.g. `involvedObject.name=x,type!=Normal`.

    The real server accepts only a few fields per resource; the fake accepts any path.
    """
    for term in _split_terms(selector):
        if "!=" in term:
            path, _, value = term.partition("!=")
            if _field(obj, path.strip()) == value.strip():
                return False
        else:
            path, _, value = term.replace("==", "=").partition("=")
            if _field(obj, path.strip()) != value.strip():
                return False
    return True


# --- patches ------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: dicts merge, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class PatchError(ValueError):
    """A JSON patch that cannot apply; the server answers 422."""


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> Any:
    node = doc
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError) as exc:
            raise PatchError(f"path segment {part!r} does not exist") from exc
    return node


def _get(doc: Any, parts: list[str]) -> Any:
    parent = _parent(doc, parts)
    last = parts[-1]
    try:
        return parent[int(last)] if isinstance(parent, list) else parent[last]
    except (KeyError, IndexError, ValueError) as exc:
        raise PatchError(f"path {'/'.join(parts)!r} does not exist") from exc


def _remove(doc: Any, parts: list[str]) -> Any:
    value = _get(doc, parts)
    parent = _parent(doc, parts)
    if isinstance(parent, list):
        parent.pop(int(parts[-1]))
    else:
        del parent[parts[-1]]
    return value


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _parent(doc, parts)
    last = parts[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if index > len(parent):
            raise PatchError(f"index {index} out of range")
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise PatchError(f"cannot add below a {type(parent).__name__}")
    return doc


def json_patch(target: JSON, operations: list[JSON]) -> JSON:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test) on a copy."""
    doc: Any = copy.deepcopy(target)
    for op in operations:
        kind = op.get("op")
        parts = _pointer(str(op.get("path", "")))
        if kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, parts)
        elif kind == "replace":
            _get(doc, parts)
            if parts:
                _remove(doc, parts)
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind in ("move", "copy"):
            source = _pointer(str(op.get("from", "")))
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(_get(doc, source))
            doc = _add(doc, parts, value)
        elif kind == "test":
            if _get(doc, parts) != op.get("value"):
                raise PatchError(f"test failed at {op.get('path')}")
        else:
            raise PatchError(f"unknown op {kind!r}")
    if not isinstance(doc, dict):
        raise PatchError("the patched document is not an object")
    return doc


# --- events in two API versions -------------------------------------------------------------


def event_as(event: JSON, api_version: str) -> JSON:
    """An event as the requested API version shows it.

    Core (v1) events read through events.k8s.io/v1 come back with `eventTime: null`
    (the kubelet never sets it), which is what breaks generated client models.
    """
    if event.get("apiVersion", "v1") == api_version:
        return copy.deepcopy(event)
    if api_version == "events.k8s.io/v1":
        return {
            "kind": "Event",
            "apiVersion": "events.k8s.io/v1",
            "metadata": copy.deepcopy(event.get("metadata", {})),
            "eventTime": event.get("eventTime"),
            "reportingController": event.get("reportingComponent", ""),
            "reportingInstance": event.get("reportingInstance", ""),
            "action": event.get("action", ""),
            "reason": event.get("reason", ""),
            "regarding": copy.deepcopy(event.get("involvedObject", {})),
            "note": event.get("message", ""),
            "type": event.get("type", "Normal"),
            "deprecatedSource": copy.deepcopy(event.get("source", {})),
            "deprecatedFirstTimestamp": event.get("firstTimestamp"),
            "deprecatedLastTimestamp": event.get("lastTimestamp"),
            "deprecatedCount": event.get("count"),
        }
    return {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": copy.deepcopy(event.get("metadata", {})),
        "involvedObject": copy.deepcopy(event.get("regarding", {})),
        "reason": event.get("reason", ""),
        "message": event.get("note", ""),
        "source": copy.deepcopy(event.get("deprecatedSource", {})),
        "firstTimestamp": event.get("deprecatedFirstTimestamp"),
        "lastTimestamp": event.get("deprecatedLastTimestamp"),
        "count": event.get("deprecatedCount"),
        "type": event.get("type", "Normal"),
        "eventTime": event.get("eventTime"),
        "reportingComponent": event.get("reportingController", ""),
        "reportingInstance": event.get("reportingInstance", ""),
    }
