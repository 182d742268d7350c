"""The hand-off from the receiver to the worker: notification ids, with a capacity.

The receiver reserves a place before it writes (so a full queue answers 503 before any
work), then puts the id once the write is durable, with the parsed notification so the
worker need not read and parse it again (after a restart it reads the store).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True)
class QueuedNotification:
    """A stored notification waiting for the worker."""

    id: int
    group_key: str
    # The validated body, parsed again by the worker: raw bytes are one object the
    # garbage collector never visits, the parsed models dozens (a backlog of them made
    # its full passes take tens of milliseconds). None: read it back from the store.
    body: bytes | None = None


class QueueFull(Exception):
    """No room: the receiver answers 503 so Alertmanager retries."""


class TriageQueue:
    """Ids of notifications waiting for the worker."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._ids: asyncio.Queue[QueuedNotification] = asyncio.Queue()
        self._reserved = 0
        self._taken = 0

    @property
    def depth(self) -> int:
        """Notifications not yet triaged: waiting, being triaged, or being written."""
        return self._ids.qsize() + self._taken + self._reserved

    def reserve(self) -> None:
        """Take a place or raise `QueueFull`."""
        if self.depth >= self.capacity:
            raise QueueFull
        self._reserved += 1

    def release(self) -> None:
        """Give back a reserved place (the write failed)."""
        self._reserved -= 1

    def put_reserved(self, item: QueuedNotification) -> None:
        """Turn a reservation into a queued notification."""
        self._reserved -= 1
        self._ids.put_nowait(item)

    def put_recovered(self, item: QueuedNotification) -> None:
        """Queue a notification found pending at start, whatever the capacity."""
        self._ids.put_nowait(item)

    async def get(self) -> QueuedNotification:
        """The next notification, waiting if there is none."""
        item = await self._ids.get()
        self._taken += 1
        return item

    def done(self) -> None:
        """The worker finished a notification from `get`."""
        self._taken -= 1
