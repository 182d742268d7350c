"""Slack request signatures (v0): HMAC-SHA256 over `v0:{timestamp}:{raw body}`.

Called by `slack.interactions` before the body is parsed; tests and the Socket Mode-less
tooling call `sign` to make valid requests. Comparison is constant-time, and timestamps
outside the window (5 minutes by default) are refused so a captured request cannot be
replayed later.
"""

from __future__ import annotations

import hashlib
import hmac

VERSION = "v0"


class SignatureError(Exception):
    """Why a request is not from Slack; the message is safe to show the caller."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Slack-Signature` value Slack would send for this body at this time."""
    base = f"{VERSION}:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: float,
    max_age: float = 300.0,
) -> None:
    """Return when the headers prove Slack sent `body` recently; raise `SignatureError`."""
    if not timestamp or not signature:
        raise SignatureError("missing X-Slack-Request-Timestamp or X-Slack-Signature")
    try:
        moment = int(timestamp)
    except ValueError as exc:
        raise SignatureError("X-Slack-Request-Timestamp is not a number") from exc
    if abs(now - moment) > max_age:
        raise SignatureError(f"request timestamp is outside the {max_age / 60:g}-minute window")
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureError("signature does not match")
