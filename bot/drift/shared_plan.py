"""Which stored batches of a shared window to read, keep or delete: pure decisions.

Called by `drift.replicas` on the index of a model's batches (`drift.pg_windows`), before
any row is read: the first `capture_rows` rows become the reference of a model without
one, and the window is the newest `window_rows` rows no older than `window_seconds`,
the same rows the single replica's in-memory `drift.ingest.window` holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.drift.pg_windows import BatchInfo


@dataclass(frozen=True)
class Part:
    """Rows `start` to `stop` of batch `id`."""

    id: int
    start: int
    stop: int


@dataclass(frozen=True)
class CapturePlan:
    """The reference's rows (`parts`, in order), and what capturing them removes: whole
    batches (`consumed`), and the head of the batch it ends inside (`rest_from`)."""

    parts: tuple[Part, ...]
    consumed: tuple[int, ...]
    rest_from: Part | None


def plan_capture(infos: Sequence[BatchInfo], need: int) -> CapturePlan | int:
    """The plan of a reference of `need` rows from the oldest batches, or the rows there are
    so far when they are fewer (the reference is still being captured)."""
    parts: list[Part] = []
    taken = 0
    for info in infos:
        if taken >= need:
            break
        take = min(need - taken, info.rows)
        parts.append(Part(info.id, 0, take))
        taken += take
    if taken < need:
        return taken
    last = parts[-1]
    whole = tuple(p.id for p in parts if p.stop == next(i.rows for i in infos if i.id == p.id))
    straddling = next(i for i in infos if i.id == last.id)
    rest = Part(last.id, last.stop, straddling.rows) if last.stop < straddling.rows else None
    return CapturePlan(tuple(parts), whole, rest)


def plan_window(
    infos: Sequence[BatchInfo], now: float, window_rows: int, window_seconds: float
) -> tuple[list[Part], list[int]]:
    """(the parts making the window, oldest first; the batches to delete): rows older than
    `window_seconds` go, then all but the newest `window_rows`."""
    cutoff = now - window_seconds
    expired = [i.id for i in infos if i.received_at < cutoff]
    live = [i for i in infos if i.received_at >= cutoff]
    kept: list[Part] = []
    room = window_rows
    for info in reversed(live):
        if room <= 0:
            break
        kept.append(Part(info.id, max(info.rows - room, 0), info.rows))
        room -= info.rows
    kept.reverse()
    beyond = [i.id for i in live[: len(live) - len(kept)]]
    return kept, expired + beyond
