"""The threads and scratch space the drift statistics run on, owned by whoever evaluates.

The drift service makes one `Compute` at start and closes it at close; the `drift` CLI
command and the benchmark make their own. The statistics (`stats.ks`, `stats.wasserstein`,
`stats.kolmogorov`) take it as an argument, so no pool lives at module level and none is
started per call: a block pass over the window hands its blocks to `map`, and each
block borrows a `Workspace` of scratch arrays that no other thread holds.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from types import TracebackType
from typing import TypeVar

from bot.drift.stats.workspace import Workspace

T = TypeVar("T")
R = TypeVar("R")


class Compute:
    """`workers` threads (none when 1) and a pool of workspaces, until `close`."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._executor = (
            ThreadPoolExecutor(workers, thread_name_prefix="drift-stats") if workers > 1 else None
        )
        # Last in, first out: the workspace used last has its buffers sized and in cache.
        self._spaces: queue.LifoQueue[Workspace] = queue.LifoQueue()

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """`fn` over `items`, in the threads when there are several items; in order."""
        if self._executor is None or len(items) < 2:
            return [fn(item) for item in items]
        return list(self._executor.map(fn, items))

    @contextmanager
    def workspace(self) -> Iterator[Workspace]:
        """A workspace no other thread is using; it goes back to the pool afterwards."""
        try:
            space = self._spaces.get_nowait()
        except queue.Empty:
            space = Workspace()
        try:
            yield space
        finally:
            self._spaces.put(space)

    def close(self) -> None:
        """Stop the threads (after what they are running) and drop the workspaces."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        while not self._spaces.empty():
            self._spaces.get_nowait()

    def __enter__(self) -> Compute:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


@contextmanager
def given_or_own(compute: Compute | None) -> Iterator[Compute]:
    """`compute` when the caller has one; else a serial one for this call only."""
    if compute is not None:
        yield compute
        return
    with Compute() as own:
        yield own
