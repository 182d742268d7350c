"""`conversations.history` of the fake Slack: a channel's top-level messages as Slack pages them.

Used by `tests.fakes.fake_slack`. Newest first, bounded by `oldest` and `latest`
(exclusive, as Slack's default), `limit` per page with an opaque `cursor` for the next;
each message carries its `metadata` only when the call asked (`include_all_metadata`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol


class Shown(Protocol):
    """What the fake keeps of a message (`fake_slack.Message`)."""

    ts: str
    text: str
    blocks: list[Any]
    metadata: dict[str, Any] | None


def history_page(messages: Iterable[Shown], args: dict[str, Any]) -> dict[str, Any]:
    """The answer to one `conversations.history` call over a channel's messages."""
    oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or 9e12)
    found = sorted(
        (m for m in messages if oldest < float(m.ts) < latest),
        key=lambda m: float(m.ts),
        reverse=True,
    )
    start = int(args.get("cursor") or 0)
    limit = int(args.get("limit") or 100)
    with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
    more = start + limit < len(found)
    return {
        "ok": True,
        "messages": [_shown(m, with_metadata) for m in found[start : start + limit]],
        "has_more": more,
        "pin_count": 0,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def _shown(message: Shown, with_metadata: bool) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "type": "message",
        "user": "UBOT",
        "bot_id": "B1",
        "text": message.text,
        "ts": message.ts,
        "blocks": message.blocks,
    }
    if with_metadata and message.metadata is not None:
        shown["metadata"] = message.metadata
    return shown
