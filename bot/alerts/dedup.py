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


@dataclass
class _Seen:
    at: float
    write: asyncio.Future[None] | None


class DedupIndex:
    """Dedup keys seen inside a time window, with the write that stored each one."""

    def __init__(self, window_seconds: float) -> None:
        self._window = window_seconds
        self._seen: dict[str, _Seen] = {}
        self._last_sweep = time.monotonic()

    def remember(self, key: str, age_seconds: float = 0.0) -> None:
        """Record a key already stored (at start-up, from the store)."""
        self._seen[key] = _Seen(time.monotonic() - age_seconds, None)

    def claim(self, key: str) -> Claim:
        """Claim `key` when new; otherwise point at the original's write.

        The original's future (None when it is long stored) resolves when the first copy
        is durable, so a duplicate is never acknowledged before its original.
        """
        now = time.monotonic()
        self._sweep(now)
        seen = self._seen.get(key)
        if seen is not None and now - seen.at < self._window:
            return Claim(is_new=False, original=seen.write)
        self._seen[key] = _Seen(now, asyncio.get_running_loop().create_future())
        return Claim(is_new=True)

    def stored(self, key: str) -> None:
        """The claimed key's write is durable."""
        seen = self._seen.get(key)
        if seen is not None and seen.write is not None:
            if not seen.write.done():
                seen.write.set_result(None)
            # Duplicates already waiting hold the future; later ones need only the time.
            seen.write = None

    def failed(self, key: str, error: BaseException) -> None:
        """The claimed key's write failed: forget it so a retry is not a duplicate."""
        seen = self._seen.pop(key, None)
        if seen is not None and seen.write is not None and not seen.write.done():
            seen.write.set_exception(error)
            # Nobody may be waiting; mark the exception retrieved to keep asyncio quiet.
            seen.write.exception()

    def __len__(self) -> int:
        return len(self._seen)

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < max(self._window, 1.0):
            return
        self._last_sweep = now
        cutoff = now - self._window
        for key in [k for k, s in self._seen.items() if s.at < cutoff]:
            del self._seen[key]
