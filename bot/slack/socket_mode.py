"""Socket Mode: interactivity over a websocket Slack opens, for clusters without ingress.

Started by `slack.service` when `SLACK_APP_TOKEN` is set. Each interactive envelope is
acknowledged first (Slack's 3 seconds) and then handed to the same `slack.dispatch` the
HTTP endpoint uses; Slack authenticates the socket, so there is no signature to check.
"""

from __future__ import annotations

import logging

from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.interactions import Submit
from bot.slack.payloads import InteractionPayload

log = logging.getLogger(__name__)


class SocketModeListener:
    """Connects with the app token and feeds interactive envelopes to the dispatcher."""

    def __init__(self, app_token: str, web_client: AsyncWebClient, submit: Submit) -> None:
        self._client = SocketModeClient(app_token=app_token, web_client=web_client)
        self._client.socket_mode_request_listeners.append(self._on_request)  # type: ignore[arg-type]
        self._submit = submit

    async def start(self) -> None:
        """Open the connection (apps.connections.open, then the websocket)."""
        await self._client.connect()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        """Close the websocket and the client's own HTTP session."""
        await self._client.close()  # type: ignore[no-untyped-call]

    async def _on_request(self, client: SocketModeClient, req: SocketModeRequest) -> None:
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
        if req.type != "interactive":
            return
        try:
            payload = InteractionPayload.model_validate(req.payload)
        except ValueError as exc:
            log.warning("socket mode payload refused", extra={"error": str(exc)[:200]})
            return
        self._submit(payload, "socket")
