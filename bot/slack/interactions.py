"""`POST /slack/interactions`: verify Slack's signature, parse, acknowledge, hand off.

Routed by `slack.service`; hands the typed payload to `slack.dispatch`, which works in the
background so Slack hears 200 within its 3 seconds. Bad requests get a 4xx with a JSON
message: 413 oversize, 408 a body not received within `slack.body_timeout_seconds` (a
slow client must not hold a handler), 401 bad or stale signature, 400 malformed payload;
503 when no signing secret is configured.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from aiohttp import web
from pydantic import ValidationError

from bot.config import Settings
from bot.field_errors import first_error
from bot.http_errors import error_response
from bot.slack.payloads import InteractionPayload
from bot.slack.signature import SignatureError, verify

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Submit = Callable[[InteractionPayload, str], None]


async def _read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, or its first `limit + 1` bytes (one `read` returns only what has
    arrived so far, which a body in several packets would cut short)."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = await request.content.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def parse_payload(body: bytes) -> InteractionPayload:
    """The `payload` field of a form body; `ValueError` naming what is wrong."""
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError("body is not a form (application/x-www-form-urlencoded)") from exc
    values = form.get("payload")
    if not values:
        raise ValueError("form field 'payload' is missing")
    try:
        data = json.loads(values[0])
    except ValueError as exc:
        raise ValueError("form field 'payload' is not JSON") from exc
    try:
        return InteractionPayload.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"payload.{first_error(exc, 'payload')}") from exc


def interactions_handler(
    settings: Settings, submit: Callable[[], Submit | None], clock: Callable[[], float] = time.time
) -> Handler:
    """The handler; `submit()` gives the dispatcher's submit, None until the service started."""
    limit = settings.slack.max_interaction_bytes

    async def handle(request: web.Request) -> web.StreamResponse:
        secret = settings.slack_signing_secret
        target = submit()
        if secret is None or target is None:
            return error_response(
                503, "Slack interactivity is not configured (SLACK_SIGNING_SECRET)"
            )
        if request.content_length is not None and request.content_length > limit:
            return error_response(413, f"body larger than {limit} bytes")
        try:
            async with asyncio.timeout(settings.slack.body_timeout_seconds):
                body = await _read_body(request, limit)
        except TimeoutError:
            return error_response(
                408, f"body not received within {settings.slack.body_timeout_seconds:g} s"
            )
        if len(body) > limit:
            return error_response(413, f"body larger than {limit} bytes")
        try:
            verify(
                secret.get_secret_value(),
                request.headers.get("X-Slack-Request-Timestamp"),
                request.headers.get("X-Slack-Signature"),
                body,
                now=clock(),
                max_age=settings.slack.signature_max_age_seconds,
            )
        except SignatureError as exc:
            return error_response(401, str(exc))
        try:
            payload = parse_payload(body)
        except ValueError as exc:
            return error_response(400, str(exc))
        target(payload, "http")
        return web.Response(status=200)

    return handle
