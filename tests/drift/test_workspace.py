"""Scratch arrays: reused while they fit, never shared between threads, bounded."""

from __future__ import annotations

import threading

import numpy as np

from bot.drift import workspace


def test_arrays_are_reused_and_grow() -> None:
    space = workspace.Workspace()
    first = space.array("a", (4, 10), np.float64)
    smaller = space.array("a", (3, 5), np.float64)
    assert np.shares_memory(first, smaller) and smaller.shape == (3, 5)
    larger = space.array("a", (5, 10), np.float64)
    assert not np.shares_memory(first, larger) and larger.shape == (5, 10)
    other_type = space.array("a", (5, 10), np.intp)
    assert other_type.dtype == np.intp


def test_kept_bytes_are_bounded() -> None:
    space = workspace.Workspace()
    big = workspace.KEEP_BYTES // 8  # float64 elements filling the whole budget
    space.array("a", (big,), np.float64)
    extra = space.array("b", (1000,), np.float64)  # over budget: handed out, not kept
    assert space.nbytes == workspace.KEEP_BYTES
    again = space.array("b", (1000,), np.float64)
    assert not np.shares_memory(extra, again)


def test_concurrent_borrowers_get_different_workspaces() -> None:
    inside = threading.Barrier(2)
    seen: list[int] = []

    def borrow() -> None:
        with workspace.borrow() as space:
            seen.append(id(space))
            inside.wait(timeout=10)

    threads = [threading.Thread(target=borrow) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 2
    with workspace.borrow() as space:  # returned to the pool: reused
        assert id(space) in seen
