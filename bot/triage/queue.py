"""The hand-off from the receiver to the worker: notification ids, with a capacity.

The receiver reserves a place before it writes (so a full queue answers 503 before any
work), then puts the id once the write is durable, with the raw body so the worker need
not read it back (after a restart it reads the store).

It also gives the receiver priority. Both share one event loop (and the machine's
cores), and a triage step that runs while webhooks wait for their commit delays their
200: at half the receiver's top rate the worker running alongside took its p99 from
5 ms to 8-50 ms. So the receiver marks each webhook it is `receiving`, and the worker
waits for a `quiet` moment before each triage, but never longer than it is told: under
a burst the triages lag (a backlog drained once the burst ends), under any load they
still start.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
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
        self._receiving = 0
        self._held = 0  # triages waiting in `quiet`
        self._quiet = asyncio.Event()
        self._quiet.set()

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

    @contextlib.contextmanager
    def receiving(self) -> Iterator[None]:
        """Mark a webhook in the receiver's hands, from its headers to its answer."""
        self._receiving += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._receiving -= 1
            if not self._receiving:
                self._quiet.set()

    async def quiet(self, at_most: float) -> None:
        """Return once no webhook is being received, or after `at_most` seconds."""
        if not self._receiving:
            return
        self._held += 1
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(at_most):
                    await self._quiet.wait()
        finally:
            self._held -= 1

    @property
    def in_receipt(self) -> int:
        """Webhooks the receiver holds right now (read by tests)."""
        return self._receiving

    @property
    def held_back(self) -> int:
        """Triages waiting for the receiver to finish (read by tests)."""
        return self._held
