"""The hand-off from the receiver to the worker: notification ids, bounded by memory.

The receiver reserves room before it writes (so a full queue answers 503 before any
work), then puts the id once the write is durable, with the raw body so the worker need
not read it back (after a restart it reads the store). The bound is the memory the queue
holds, not a count: every notification is durable once accepted, so a backlog costs
disk, not memory. Bodies are kept while they fit in the budget; past it a notification
is queued by id alone (a few hundred bytes) and the worker reads its body back from the
store. Only when even ids no longer fit is the answer 503.

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

ITEM_BYTES = 256  # an id, the object holding it and the queue's slot, roughly


@dataclass(frozen=True)
class QueuedNotification:
    """A stored notification waiting for the worker."""

    id: int
    group_key: str
    # The validated body, parsed again by the worker: raw bytes are one object the
    # garbage collector never visits, the parsed models dozens (a backlog of them made
    # its full passes take tens of milliseconds). None: read it back from the store.
    body: bytes | None = None

    @property
    def held_bytes(self) -> int:
        """What this entry costs the queue's memory budget."""
        return ITEM_BYTES + len(self.group_key) + (len(self.body) if self.body else 0)


@dataclass(frozen=True)
class Reservation:
    """Room taken for one notification: its bytes, and whether its body fits."""

    held_bytes: int
    keep_body: bool


class QueueFull(Exception):
    """No room: the receiver answers 503 so Alertmanager retries."""


class TriageQueue:
    """Ids of notifications waiting for the worker."""

    def __init__(self, memory_bytes: int) -> None:
        self.memory_limit = memory_bytes
        self.held_bytes = 0  # waiting, being triaged, or reserved while being written
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

    def reserve(self, group_key: str, body_bytes: int) -> Reservation:
        """Room for a notification, with its body if that fits; else `QueueFull`."""
        with_body = ITEM_BYTES + len(group_key) + body_bytes
        bare = ITEM_BYTES + len(group_key)
        if self.held_bytes + with_body <= self.memory_limit:
            reservation = Reservation(with_body, keep_body=True)
        elif self.held_bytes + bare <= self.memory_limit:
            reservation = Reservation(bare, keep_body=False)
        else:
            raise QueueFull
        self.held_bytes += reservation.held_bytes
        self._reserved += 1
        return reservation

    def release(self, reservation: Reservation) -> None:
        """Give back reserved room (the write failed)."""
        self.held_bytes -= reservation.held_bytes
        self._reserved -= 1

    def put_reserved(self, item: QueuedNotification, reservation: Reservation) -> None:
        """Turn a reservation into a queued notification (its body dropped if it did not fit)."""
        self._reserved -= 1
        if not reservation.keep_body:
            item = QueuedNotification(item.id, item.group_key)
        self.held_bytes += item.held_bytes - reservation.held_bytes
        self._ids.put_nowait(item)

    def put_recovered(self, item: QueuedNotification) -> None:
        """Queue a notification found pending at start, whatever the budget."""
        self.held_bytes += item.held_bytes
        self._ids.put_nowait(item)

    async def get(self) -> QueuedNotification:
        """The next notification, waiting if there is none."""
        item = await self._ids.get()
        self._taken += 1
        return item

    def done(self, item: QueuedNotification) -> None:
        """The worker finished a notification from `get`."""
        self._taken -= 1
        self.held_bytes -= item.held_bytes

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
