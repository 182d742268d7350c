"""Group commit for SQLite: every write waiting at one moment goes into one transaction.

Owned by `store.Store`. Callers hand over statements and wait for the commit;
the writer task drains the queue and hands the whole batch to one thread of its own, with
a connection of its own, in one hop: each run of identical statements as one
`executemany`, one commit. A burst of webhooks costs one fsync and one thread hand-off
instead of several each. Reads stay on the store's aiosqlite connection (WAL lets them
run beside the writer). Checkpoints of the WAL run on a third connection (PASSIVE never
blocks the writer), because an automatic checkpoint inside a commit would stall every
webhook waiting on that commit.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Statement = tuple[str, tuple[Any, ...]]
CHECKPOINT_SECONDS = 1.0


@dataclass(frozen=True)
class _Write:
    statements: tuple[Statement, ...]
    done: asyncio.Future[None]


class GroupCommitWriter:
    """The single writer of one database."""

    def __init__(self, path: Path, synchronous: str) -> None:
        self._path = path
        self._synchronous = synchronous
        self._writes: asyncio.Queue[_Write] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self._db: sqlite3.Connection | None = None
        self._checkpointer: sqlite3.Connection | None = None

    def _connect(self) -> None:
        # Runs on the writer thread: the connection is used by that thread only.
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout=5000")
        db.execute(f"PRAGMA synchronous={self._synchronous}")
        db.execute("PRAGMA wal_autocheckpoint=0")
        self._db = db

    async def _on_thread(self, fn: Callable[..., None], *args: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def start(self) -> None:
        """Open the writer's connection, start the writer and the checkpoint loop."""
        await self._on_thread(self._connect)
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="store-writer"),
            asyncio.create_task(self._checkpoint_loop(), name="store-checkpoint"),
        ]

    async def stop(self) -> None:
        """Finish queued writes, stop, and fold the WAL back into the database."""
        await self._writes.join()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._checkpointer is not None:
            self._checkpointer.close()
        await self._on_thread(self._close)
        self._thread.shutdown(wait=True)

    def _close(self) -> None:
        if self._db is not None:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()
            self._db = None

    async def write(self, statements: tuple[Statement, ...]) -> None:
        """Run statements in one transaction with whatever else is waiting; wait for it."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._writes.put_nowait(_Write(statements, done))
        await done

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._writes.get()]
            # One turn of the loop lets requests already received reach this queue, so
            # they share this commit instead of waiting for the next one.
            await asyncio.sleep(0)
            while not self._writes.empty():
                batch.append(self._writes.get_nowait())
            try:
                await self._on_thread(self._commit, batch)
            except Exception:
                # One bad write must not fail the others: retry each on its own.
                for write in batch:
                    try:
                        await self._on_thread(self._commit, [write])
                    except Exception as exc:
                        if not write.done.done():
                            write.done.set_exception(exc)
            for write in batch:
                if not write.done.done():
                    write.done.set_result(None)
                self._writes.task_done()

    def _commit(self, batch: list[_Write]) -> None:
        if self._db is None:
            raise sqlite3.ProgrammingError("store writer is closed")
        statements = [st for write in batch for st in write.statements]
        self._db.execute("BEGIN")
        try:
            i = 0
            while i < len(statements):
                # Runs of the same statement (many webhooks) go down in one executemany.
                j = i
                while j < len(statements) and statements[j][0] == statements[i][0]:
                    j += 1
                self._db.executemany(statements[i][0], [p for _, p in statements[i:j]])
                i = j
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    async def _checkpoint_loop(self) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_SECONDS)
            try:
                await asyncio.to_thread(self._checkpoint)
            except sqlite3.Error:
                log.warning("WAL checkpoint failed; retrying", exc_info=True)

    def _checkpoint(self) -> None:
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(self._path, check_same_thread=False)
            self._checkpointer.execute("PRAGMA busy_timeout=5000")
        self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
