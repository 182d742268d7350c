"""Who may call what: bearer-token checks and the start-up rule that keeps the API closed.

`bearer_matches` is shared by the webhook receiver (`alerts.receiver`) and the API
middleware built here for `app.create_app`; `api_exposure_problem` is the start-up check
`cli serve` and `cli check-config` run. The trust model (README, "Trust model"):

- `/api/*` and `/ingest/feedback` need `TRIAGE_BOT_API_TOKEN`. The service refuses to
  start without one unless `api.public: true` says, explicitly, that anyone who can reach
  the port may read triages, the audit and drift state (`make run` on a laptop does).
- `/ingest/kserve` takes no token: KServe's payload logger cannot send credentials, so
  what may post there is decided by the NetworkPolicy (model pods only).
- `/alertmanager` has its own token (`TRIAGE_BOT_WEBHOOK_TOKEN`), `/slack/interactions`
  Slack's signature; `/healthz`, `/readyz` and `/metrics` are open (probes, Prometheus).
"""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot.http_errors import error_response

# Paths that need the API token. `/ingest/kserve` is left out on purpose (see above).
PROTECTED_PREFIXES = ("/api/", "/ingest/feedback")


def bearer_matches(header: str, expected: bytes) -> bool:
    """True when an `Authorization` header carries exactly `expected` as a bearer token.

    Constant-time in the token, so a caller cannot learn it byte by byte.
    """
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)


def api_exposure_problem(token: str | None, public: bool) -> str | None:
    """Why the service must not start with these API settings, or None when it may."""
    if token is None and not public:
        return (
            "no API token: set TRIAGE_BOT_API_TOKEN (the manifests take it from the Secret), "
            "or set api.public: true (TRIAGE_BOT_API__PUBLIC=true) to serve /api/* and "
            "/ingest/feedback to anyone who can reach the port"
        )
    if token is not None and len(token) < 16:
        return "TRIAGE_BOT_API_TOKEN is shorter than 16 characters: use a long random string"
    return None


def api_auth(token: str) -> Middleware:
    """Middleware that answers 401 on the protected paths without the bearer `token`."""
    expected = token.encode()

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(PROTECTED_PREFIXES) and not bearer_matches(
            request.headers.get("Authorization", ""), expected
        ):
            return error_response(
                401,
                "missing or wrong bearer token (TRIAGE_BOT_API_TOKEN)",
                headers={"WWW-Authenticate": 'Bearer realm="triage-bot"'},
            )
        return await handler(request)

    return middleware
