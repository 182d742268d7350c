"""A fake Slack Web API (and Socket Mode endpoint) speaking the real wire format.

Tests reach it through slack-sdk's `AsyncWebClient(base_url=fake.base_url)`, so method
paths, JSON and form bodies, query parameters, `ok: false` errors, 429 with Retry-After
and 5xx answers are exercised as against Slack. Usage::

    async with running_fake_slack(FakeSlack()) as slack:
        slack.fail("chat.postMessage", status=429, retry_after=1)   # once
        slack.fail("chat.update", error="message_not_found")        # ok: false, once
        slack.usergroups["S1"] = ["U1"]
        ...
        assert slack.calls("chat.postMessage")[0].args["channel"] == "C1"

Messages are checked as Slack checks them (`tests.fakes.slack_rules`: Block Kit through
slack-sdk's block models, `invalid_blocks`, `msg_too_long`); with `limits` set the fake
answers 429 + Retry-After past Slack's per-channel and per-method rates, and counts them
in `rate_limited`.

A `stall`ed call is done, then answered late or its connection dropped (the client sees
a timeout or a disconnection; the message exists). Messages keep their `metadata`;
`conversations.history` is `tests.fakes.slack_history`.

Served: chat.postMessage, chat.update, chat.delete, chat.postEphemeral,
conversations.history, auth.test, files.getUploadURLExternal + the upload URL +
files.completeUploadExternal (what `files_upload_v2` calls), usergroups.users.list,
apps.connections.open and a websocket that plays Socket Mode (`push` an envelope, `acks`
holds the answers).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from tests.fakes.slack_history import history_page
from tests.fakes.slack_records import Call, Failure, Message
from tests.fakes.slack_rules import RateLimits, message_problem

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
__all__ = ["APP_TOKEN", "BOT_TOKEN", "Call", "FakeSlack", "Message", "running_fake_slack"]


@dataclass
class FakeSlack:
    """State and request log of the fake workspace."""

    base_url: str = ""
    calls_log: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], Message] = field(default_factory=dict)
    ephemeral: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    stalls: dict[str, list[tuple[float, bool]]] = field(default_factory=dict)
    acks: list[dict[str, Any]] = field(default_factory=list)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    limits: RateLimits | None = None
    rate_limited: list[Call] = field(default_factory=list)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def fail(
        self, method: str, *, status: int = 200, error: str = "", retry_after: int | None = None,
        times: int = 1,
    ) -> None:  # fmt: skip
        """Answer the next `times` calls of `method` with a status or an `ok: false` error."""
        failure = Failure(
            status, error or ("ratelimited" if status == 429 else ""), retry_after, times
        )
        self.failures.setdefault(method, []).append(failure)

    def stall(self, method: str, seconds: float, *, times: int = 1, drop: bool = False) -> None:
        """Do the next `times` calls of `method`, then answer each `seconds` late (with
        `drop`, close the connection instead of answering)."""
        self.stalls.setdefault(method, []).extend([(seconds, drop)] * times)

    def calls(self, method: str | None = None) -> list[Call]:
        """Requests received, optionally of one method, oldest first."""
        return [c for c in self.calls_log if method is None or c.method == method]

    def channel_messages(self, channel: str) -> list[Message]:
        """Top-level messages (not thread replies) in a channel."""
        return [m for (c, _), m in self.messages.items() if c == channel and not m.thread_ts]

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Replies in a message's thread."""
        return [m for (c, _), m in self.messages.items() if c == channel and m.thread_ts == ts]

    async def push(self, envelope: dict[str, Any]) -> None:
        """Send a Socket Mode envelope to every connected client."""
        for ws in self.sockets:
            await ws.send_str(json.dumps(envelope))

    # --- the HTTP side ---------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application serving the fake."""
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        return app

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        ctype = request.content_type
        if ctype == "application/json":
            args.update(await request.json())
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
            for key in ("blocks", "attachments", "metadata"):
                if isinstance(args.get(key), str):
                    args[key] = json.loads(args[key])
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") or str(args.pop("token", ""))
        agent = request.headers.get("User-Agent", "")
        call = Call(method, args, request.content_type, token, agent)
        self.calls_log.append(call)
        wait = self.limits.retry_after(method, args) if self.limits else None
        if wait is not None:
            self.rate_limited.append(call)
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(wait)},
            )
        queue = self.failures.get(method, [])
        if queue:
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.pop(0)
            headers = (
                {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            )
            body = {"ok": False, "error": failure.error or "internal_error"}
            return web.json_response(body, status=failure.status, headers=headers)
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        answer = handler(args)
        stalls = self.stalls.get(method)
        if stalls:
            seconds, drop = stalls.pop(0)
            await asyncio.sleep(seconds)
            if drop and request.transport is not None:
                request.transport.close()  # done, but the answer never leaves
        return web.json_response(answer)

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://fake.slack/", "team": "Fake", "user": "triage-bot",
                "team_id": "T1", "user_id": "UBOT", "bot_id": "B1"}  # fmt: skip

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not channel or channel.startswith("CMISSING"):
            return {"ok": False, "error": "channel_not_found"}
        problem = message_problem(args)
        if problem:
            return {"ok": False, "error": problem}
        thread = args.get("thread_ts")
        if thread and (channel, thread) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        ts = self._new_ts()
        message = Message(channel, ts, str(args.get("text", "")), args.get("blocks", []),
                          args.get("attachments", []), thread, metadata=args.get("metadata"),
                          )  # fmt: skip
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts,
                "message": {"type": "message", "text": message.text, "ts": ts}}  # fmt: skip

    def _new_ts(self) -> str:
        # Slack's ts is the posting time: `oldest`/`latest` in conversations.history bound it.
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        return history_page(self.channel_messages(channel), args)

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (str(args.get("channel", "")), str(args.get("ts", "")))
        message = self.messages.get(key)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        problem = message_problem(args)
        if problem:
            return {"ok": False, "error": problem}
        message.text = str(args.get("text", message.text))
        message.blocks = args.get("blocks", message.blocks)
        message.attachments = args.get("attachments", message.attachments)
        message.edits += 1
        return {"ok": True, "channel": key[0], "ts": key[1], "text": message.text}

    def _m_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (str(args.get("channel", "")), str(args.get("ts", "")))
        if self.messages.pop(key, None) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("user") or not args.get("channel"):
            return {"ok": False, "error": "user_not_in_channel"}
        self.ephemeral.append(args)
        return {"ok": True, "message_ts": self._new_ts()}

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not str(args.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ts):08d}"
        self.files[file_id] = {"filename": args["filename"], "length": int(args["length"])}
        root = self.base_url.removesuffix("api/")
        return {"ok": True, "upload_url": f"{root}upload/v1/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self.files:
            return web.Response(status=404, text="not found")
        data = await request.read()
        self.files[file_id]["data"] = data
        return web.Response(text=f"OK - {len(data)}")

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        items = json.loads(str(args.get("files", "[]")))
        out = []
        for item in items:
            stored = self.files.get(item.get("id", ""))
            if stored is None or "data" not in stored:
                return {"ok": False, "error": "file_not_found"}
            stored.update(channel=args.get("channel_id"), thread_ts=args.get("thread_ts"),
                          title=item.get("title"))  # fmt: skip
            out.append({"id": item["id"], "title": item.get("title"), "name": stored["filename"]})
        return {"ok": True, "files": out}

    def _m_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup", ""))
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": self.usergroups[group]}

    def _m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        ws_url = self.base_url.replace("http://", "ws://").removesuffix("api/") + "socket"
        return {"ok": True, "url": ws_url}

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self.acks.append(json.loads(msg.data))
        finally:
            self.sockets.remove(ws)
        return ws

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until `count` calls of `method` arrived; their list."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.calls(method)) < count:
            if loop.time() > deadline:
                raise TimeoutError(f"{method}: {len(self.calls(method))} of {count} calls")
            await asyncio.sleep(0.01)
        return self.calls(method)


SlackT = TypeVar("SlackT", bound="FakeSlack")


@asynccontextmanager
async def running_fake_slack(fake: SlackT) -> AsyncIterator[SlackT]:
    """Serve `fake` (a FakeSlack, or a subclass that records more) on a free loopback
    port for the duration of the block."""
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    fake.base_url = str(server.make_url("/api/"))
    try:
        yield fake
    finally:
        for ws in list(fake.sockets):
            await ws.close()
        await server.close()
