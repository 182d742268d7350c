"""The slack-sdk Web API client, with retry handlers for rate limits, 5xx and connections.

Built by `slack.service` and used by `slack.notifier` and `slack.dispatch`. The base URL
comes from `TRIAGE_BOT_SLACK_API_URL` when set (tests, proxies). The rate-limit handler
honours Retry-After; the others back off by a fixed interval from the settings.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import (
    FixedValueRetryIntervalCalculator,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings

DEFAULT_API_URL = "https://slack.com/api/"


def retry_handlers(retries: int, interval: float) -> list[AsyncRetryHandler]:
    """Rate limits (Retry-After), server errors and dropped connections, `retries` each."""
    calc = FixedValueRetryIntervalCalculator(fixed_internal=interval)
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=retries),
        AsyncServerErrorRetryHandler(max_retry_count=retries, interval_calculator=calc),
        AsyncConnectionErrorRetryHandler(max_retry_count=retries, interval_calculator=calc),
    ]


def api_url(settings: Settings) -> str:
    """The Web API base URL, ending in a slash as slack-sdk expects."""
    url = settings.slack_api_url or DEFAULT_API_URL
    return url if url.endswith("/") else url + "/"


def make_client(
    settings: Settings, session: aiohttp.ClientSession, *, retries: bool = True
) -> AsyncWebClient:
    """An `AsyncWebClient` on the shared session (the caller closes the session).

    `retries=False` for `slack.sender`, which paces and retries itself: slack-sdk's
    handlers would sleep out a Retry-After inside the call."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=api_url(settings),
        session=session,
        timeout=10,
        retry_handlers=retry_handlers(settings.slack.retries, settings.slack.retry_interval_seconds)
        if retries
        else [],
    )
