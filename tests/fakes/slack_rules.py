"""What real Slack refuses, for the fake Slack: Block Kit validity and rate limits.

Used by `tests.fakes.fake_slack`. Blocks are checked with slack-sdk's own block models
(`Block.parse` + `validate_json`, which know every documented length and count) plus the
rules those models leave out (a header takes plain_text only; 50 blocks a message; the
40,000-character `text`). Rate limits are token buckets like Slack's documented ones:
chat.postMessage about one message a second per channel with short bursts, chat.update
Tier 3 (about 50 a minute); past them the fake answers 429 with Retry-After.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

MAX_BLOCKS = 50
MAX_TEXT = 40_000


def block_problem(block: Any) -> str | None:
    """Why Slack would refuse one block, or None."""
    if not isinstance(block, dict):
        return "a block is not an object"
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return f"unknown block type {block.get('type')!r}"
        parsed.validate_json()
    except SlackObjectFormationError as exc:
        return str(exc)
    if block.get("type") == "header" and block.get("text", {}).get("type") != "plain_text":
        return "a header's text must be plain_text"
    return None


def message_problem(args: dict[str, Any]) -> str | None:
    """The error Slack answers for a chat.postMessage / chat.update body, or None."""
    if len(str(args.get("text", ""))) > MAX_TEXT:
        return "msg_too_long"
    groups = [args.get("blocks") or []]
    groups += [a.get("blocks") or [] for a in args.get("attachments") or []]
    for blocks in groups:
        if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
            return "invalid_blocks"
        if any(block_problem(b) for b in blocks):
            return "invalid_blocks"
    if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
        return "no_text"
    return None


@dataclass
class Bucket:
    """`rate` calls a second, `burst` saved up."""

    rate: float
    burst: float
    tokens: float = -1.0
    at: float = 0.0

    def take(self, now: float) -> float:
        """0 when a call may go now (and spend it), else the seconds to wait."""
        if self.tokens < 0:
            self.tokens, self.at = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class RateLimits:
    """Slack's limits as the fake enforces them once `FakeSlack.limits` is set."""

    post_per_second: float = 1.0
    post_burst: float = 3.0
    update_per_minute: float = 50.0
    update_burst: float = 5.0
    buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)

    def retry_after(self, method: str, args: dict[str, Any]) -> int | None:
        """Seconds for Retry-After when this call is over the limit, else None."""
        if method == "chat.postMessage":
            key, rate, burst = (
                (method, str(args.get("channel"))),
                self.post_per_second,
                self.post_burst,
            )
        elif method == "chat.update":
            key, rate, burst = (method, ""), self.update_per_minute / 60, self.update_burst
        else:
            return None
        bucket = self.buckets.setdefault(key, Bucket(rate, burst))
        wait = bucket.take(time.monotonic())
        return math.ceil(wait) if wait > 0 else None
