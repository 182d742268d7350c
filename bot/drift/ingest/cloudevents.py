"""KServe payload-logger CloudEvents, in binary and structured content mode.

Called by `drift.service` with the raw headers and body of `POST /ingest/kserve`; hands
an `InferenceEvent` (which model, request or response, the JSON body) to
`drift.ingest.model_bodies`.
The logger sends `ce-type` `org.kubeflow.serving.inference.request` or `...response`,
`ce-id` (the request id, shared by both events), `ce-inferenceservicename`,
`ce-namespace`, `ce-specversion`, `ce-source`, and the model's own JSON as the body.
Pure: every problem is an `IngestError` carrying the HTTP status and a message.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.field_errors import first_error

EventKind = Literal["request", "response"]
STRUCTURED = "application/cloudevents+json"


class IngestError(Exception):
    """A payload the service refuses: the status, the counter outcome and a message."""

    def __init__(self, status: int, outcome: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.outcome = outcome
        self.message = message


@dataclass(frozen=True)
class InferenceEvent:
    """One logged request or response of one InferenceService."""

    id: str
    kind: EventKind
    namespace: str
    service: str
    body: Any


class _Structured(BaseModel):
    """The envelope of a structured-mode CloudEvent (extensions are top-level keys)."""

    model_config = ConfigDict(extra="allow")

    specversion: str = Field(min_length=1)
    id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    source: str = ""
    inferenceservicename: str = ""
    namespace: str = ""
    datacontenttype: str = "application/json"
    data: Any = None
    data_base64: str | None = None


def _kind(ce_type: str) -> EventKind:
    lowered = ce_type.lower()
    if lowered.endswith("inference.request"):
        return "request"
    if lowered.endswith("inference.response"):
        return "response"
    raise IngestError(400, "unsupported_type", f"unsupported CloudEvent type {ce_type!r}")


def _json(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(400, "malformed", f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise IngestError(400, "malformed", f"{what} is nested too deeply") from None


def parse_event(headers: Mapping[str, str], body: bytes) -> InferenceEvent:
    """The event in either content mode; `IngestError` naming what is wrong otherwise."""
    content_type = headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type == STRUCTURED:
        return _structured(body)
    if "ce-id" not in {k.lower() for k in headers}:
        raise IngestError(
            400,
            "malformed",
            "not a CloudEvent: no ce-id header and not application/cloudevents+json",
        )
    lower = {k.lower(): v for k, v in headers.items()}
    missing = [h for h in ("ce-specversion", "ce-type") if not lower.get(h)]
    if missing or not lower.get("ce-id"):
        raise IngestError(
            400, "malformed", f"missing CloudEvent headers: {', '.join(missing or ['ce-id'])}"
        )
    namespace = lower.get("ce-namespace", "")
    service = lower.get("ce-inferenceservicename", "")
    if not namespace or not service:
        raise IngestError(
            400, "malformed", "ce-namespace and ce-inferenceservicename headers are required"
        )
    return InferenceEvent(
        id=lower["ce-id"],
        kind=_kind(lower["ce-type"]),
        namespace=namespace,
        service=service,
        body=_json(body, "event body"),
    )


def _structured(body: bytes) -> InferenceEvent:
    raw = _json(body, "structured CloudEvent")
    try:
        envelope = _Structured.model_validate(raw)
    except ValidationError as exc:
        problem = first_error(exc, "(top level)")
        raise IngestError(400, "malformed", f"CloudEvent {problem}") from None
    if not envelope.namespace or not envelope.inferenceservicename:
        raise IngestError(
            400, "malformed", "CloudEvent needs the namespace and inferenceservicename extensions"
        )
    data = envelope.data
    if envelope.data_base64 is not None:
        try:
            decoded = base64.b64decode(envelope.data_base64, validate=True)
        except ValueError:
            raise IngestError(400, "malformed", "data_base64 is not base64") from None
        data = _json(decoded, "data_base64")
    elif isinstance(data, str | bytes):
        data = _json(data.encode() if isinstance(data, str) else data, "data")
    return InferenceEvent(
        id=envelope.id,
        kind=_kind(envelope.type),
        namespace=envelope.namespace,
        service=envelope.inferenceservicename,
        body=data,
    )
