"""The dedup index: originals, duplicates in flight and after, failures, and GC cost."""

from __future__ import annotations

import asyncio
import gc

from bot.alerts.dedup import DedupIndex


async def test_a_duplicate_waits_for_its_original_then_not_at_all() -> None:
    index = DedupIndex(600)
    assert index.claim("k").is_new
    in_flight = index.claim("k")
    assert not in_flight.is_new and in_flight.original is not None
    assert not in_flight.original.done()
    index.stored("k")
    assert in_flight.original.done() and in_flight.original.exception() is None
    later = index.claim("k")
    assert not later.is_new and later.original is None


async def test_a_failed_original_fails_its_duplicates_and_frees_the_key() -> None:
    index = DedupIndex(600)
    index.claim("k")
    waiting = index.claim("k").original
    assert waiting is not None
    index.failed("k", OSError("disk full"))
    assert isinstance(waiting.exception(), OSError)
    assert index.claim("k").is_new  # Alertmanager's retry is not a duplicate


async def test_remembered_keys_expire_with_the_window() -> None:
    index = DedupIndex(60)
    index.remember("old", age_seconds=120)
    index.remember("recent", age_seconds=10)
    assert index.claim("old").is_new
    assert not index.claim("recent").is_new


async def test_stored_keys_cost_the_garbage_collector_nothing() -> None:
    index = DedupIndex(600)
    for i in range(2_000):
        index.claim(f"k{i}")
        index.stored(f"k{i}")
    await asyncio.sleep(0)
    gc.collect()
    assert len(index) == 2_000
    assert not gc.is_tracked(index._seen)  # strings and floats only: never traversed
