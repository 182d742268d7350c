"""What a failed Slack call means for the sender: wait how long, retry, or give up.

Pure; used by `slack.sender`. A 429 carries Retry-After; 5xx, Slack's transient error
codes and network errors are worth another try; anything else is permanent. A timeout or
a dropped connection leaves the outcome unknown: a post may have been made.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError

TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def describe(exc: Exception) -> str:
    """Slack's error code, or the exception's type and message: kept as the op's reason."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return f"{type(exc).__name__}: {exc}"


def retry_after(exc: Exception) -> float | None:
    """Seconds Slack asked us to wait (429), None for other failures."""
    if isinstance(exc, SlackApiError) and exc.response.status_code == 429:
        raw = exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after"))
        try:
            return max(0.0, float(raw[0] if isinstance(raw, list) else raw))
        except (TypeError, ValueError):
            return 1.0
    return None


def transient(exc: Exception) -> bool:
    """True when the same call may succeed later."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        return status == 429 or status >= 500 or exc.response.get("error") in TRANSIENT
    return isinstance(exc, aiohttp.ClientError | TimeoutError)


def outcome_unknown(exc: Exception) -> bool:
    """True when the call may have reached Slack and done its work: a timeout or a dropped
    connection after the request left. A refused connection (nothing left) and Slack's own
    answers (an error code, a status) are known outcomes."""
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return False
    return isinstance(
        exc,
        TimeoutError
        | aiohttp.ServerDisconnectedError
        | aiohttp.ClientOSError
        | aiohttp.ClientPayloadError,
    )
