"""What the fake Slack records: the calls it received, injected failures, its messages.

Plain data for `tests.fakes.fake_slack` (which re-exports `Call` and `Message` for tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Call:
    """One request the fake received: the method and every argument, however sent."""

    method: str
    args: dict[str, Any]
    content_type: str
    token: str
    agent: str = ""  # the User-Agent: which client (replica) called


@dataclass
class Failure:
    """An injected answer for a method, used `times` times."""

    status: int = 200
    error: str = ""
    retry_after: int | None = None
    times: int = 1


@dataclass
class Message:
    """A message as the fake channel holds it."""

    channel: str
    ts: str
    text: str
    blocks: list[Any]
    attachments: list[Any]
    thread_ts: str | None = None
    edits: int = 0
    metadata: dict[str, Any] | None = None
