"""Collapses exact re-sends of a notification (Alertmanager HA peers, retries).

Used by the receiver. The index lives in memory for speed and is rebuilt from the store
at start, so a restart does not forget what it has seen. A re-send inside the window is a
duplicate; after it (Alertmanager's repeat_interval) the group is triaged again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """The answer of `DedupIndex.claim`."""

    is_new: bool
    original: asyncio.Future[None] | None = None  # the first copy's write, if in flight


class DedupIndex:
    """Dedup keys seen inside a time window, with the write of those still being stored.

    Keys map to plain floats (the time they were claimed) and the writes in flight live
    apart: a dict of strings and floats is not tracked by the garbage collector, so
    hundreds of thousands of remembered keys add nothing to its full passes (with one
    object per key those passes reached tens of milliseconds under load).
    """

    def __init__(self, window_seconds: float) -> None:
        self._window = window_seconds
        self._seen: dict[str, float] = {}
        self._writing: dict[str, asyncio.Future[None]] = {}
        self._last_sweep = time.monotonic()

    def remember(self, key: str, age_seconds: float = 0.0) -> None:
        """Record a key already stored (at start-up, from the store)."""
        self._seen[key] = time.monotonic() - age_seconds

    def claim(self, key: str) -> Claim:
        """Claim `key` when new; otherwise point at the original's write.

        The original's future (None when it is already stored) resolves when the first
        copy is durable, so a duplicate is never acknowledged before its original.
        """
        now = time.monotonic()
        self._sweep(now)
        at = self._seen.get(key)
        if at is not None and now - at < self._window:
            return Claim(is_new=False, original=self._writing.get(key))
        self._seen[key] = now
        self._writing[key] = asyncio.get_running_loop().create_future()
        return Claim(is_new=True)

    def stored(self, key: str) -> None:
        """The claimed key's write is durable."""
        # Duplicates already waiting hold the future; later ones need only the time.
        write = self._writing.pop(key, None)
        if write is not None and not write.done():
            write.set_result(None)

    def failed(self, key: str, error: BaseException) -> None:
        """The claimed key's write failed: forget it so a retry is not a duplicate."""
        self._seen.pop(key, None)
        write = self._writing.pop(key, None)
        if write is not None and not write.done():
            write.set_exception(error)
            # Nobody may be waiting; mark the exception retrieved to keep asyncio quiet.
            write.exception()

    def __len__(self) -> int:
        return len(self._seen)

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < max(self._window, 1.0):
            return
        self._last_sweep = now
        cutoff = now - self._window
        for key in [k for k, at in self._seen.items() if at < cutoff]:
            del self._seen[key]
