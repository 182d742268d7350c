"""Kubernetes object names as the API server defines them, checked before any request.

Called by `triage.target` (names read from alert labels) and asserted again by
`cluster.reader` at the edge where a name becomes part of a URL path or a selector.
An alert's labels come from whoever can write metrics or alerts: a label
`namespace=".."` would otherwise be sent unencoded and normalised by the client into a
cluster-wide list, and a comma in a label would add terms to a label selector.

The rules are apimachinery's `IsDNS1123Label` and `IsDNS1123Subdomain`
(k8s.io/apimachinery/pkg/util/validation): lowercase alphanumerics and '-', starting and
ending alphanumeric, at most 63 characters; a subdomain is such labels joined by '.', at
most 253 characters.
"""

from __future__ import annotations

import re
from typing import Literal

_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(_LABEL)
_DNS1123_SUBDOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
LABEL_MAX = 63
SUBDOMAIN_MAX = 253

NameKind = Literal["label", "subdomain"]


def is_dns1123_label(value: str) -> bool:
    """True for a valid namespace name (and InferenceService, Service names)."""
    return len(value) <= LABEL_MAX and _DNS1123_LABEL.fullmatch(value) is not None


def is_dns1123_subdomain(value: str) -> bool:
    """True for a valid pod, Deployment or ReplicaSet name."""
    return len(value) <= SUBDOMAIN_MAX and _DNS1123_SUBDOMAIN.fullmatch(value) is not None


def name_problem(value: str, kind: NameKind) -> str | None:
    """Why `value` is not a valid name of that kind, or None when it is."""
    valid = is_dns1123_label(value) if kind == "label" else is_dns1123_subdomain(value)
    if valid:
        return None
    limit = LABEL_MAX if kind == "label" else SUBDOMAIN_MAX
    return (
        f"{value!r} is not a valid Kubernetes name (DNS-1123 {kind}: lowercase letters, "
        f"digits, '-'{', dots' if kind == 'subdomain' else ''}, at most {limit} characters)"
    )
