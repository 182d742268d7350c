"""The one shape of an HTTP refusal: `{"error": ..., "detail": ...}` with a 4xx or 503.

Called by every handler and middleware that refuses a request (`alerts.receiver`,
`drift.service`, `api`, `auth`, `actions.audit`, `slack.interactions`, `app`), so a client
reads every refusal the same way: `error` names the problem in a sentence, `detail` (when
present) lists what exactly was wrong.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web


def error_response(
    status: int, error: str, detail: Any = None, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON refusal; `detail` is left out when there is none."""
    body: dict[str, Any] = {"error": error}
    if detail is not None:
        body["detail"] = detail
    return web.json_response(body, status=status, headers=headers)
