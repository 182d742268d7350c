"""Scratch arrays and threads: reused while they fit, never shared between threads, bounded."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from bot.drift.stats import workspace
from bot.drift.stats.compute import Compute


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
    seen: list[workspace.Workspace] = []
    compute = Compute(2)

    def borrow() -> None:
        with compute.workspace() as space:
            seen.append(space)
            inside.wait(timeout=10)

    threads = [threading.Thread(target=borrow) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen[0] is not seen[1]
    with compute.workspace() as space:  # returned to the pool: reused
        assert any(space is s for s in seen)
    compute.close()
    with Compute(2) as other, other.workspace() as space:  # another owner: arrays of its own
        assert not any(space is s for s in seen)


def test_compute_maps_in_order_on_its_threads_and_serially_without() -> None:
    with Compute(2) as threads:
        names = threads.map(lambda _: threading.current_thread().name, [1, 2, 3, 4])
        assert all(name.startswith("drift-stats") for name in names)
        assert threads.map(lambda x: x * x, list(range(10))) == [x * x for x in range(10)]
    with Compute(1) as serial:
        assert (
            serial.map(lambda _: threading.current_thread().name, [1, 2])
            == [threading.current_thread().name] * 2
        )
    with pytest.raises(ValueError, match="at least 1"):
        Compute(0)
