"""Group commit for SQLite: every write waiting at one moment goes into one transaction.

Owned by `store.Store`. Callers hand over statements and wait for the commit. A thread
of its own, with a connection of its own, takes everything queued, writes it as one
transaction (each run of identical statements as one `executemany`), commits, and
settles the whole batch with one wake-up of the event loop.
Writes that arrive during a commit form the next batch, so a burst of webhooks costs one
fsync instead of one each, and a lone webhook waits only for its own commit. Reads stay
on the store's aiosqlite connection (WAL lets them run beside the writer).

The same thread checkpoints the WAL, between two batches, at most every
`CHECKPOINT_SECONDS` (never inside a commit: SQLite's automatic checkpoint would make
the webhooks of that commit wait for it). Done there, nothing is appended while it runs,
so it copies every frame and the next transaction starts the WAL over. Checkpoints on a
connection of their own (the design before) never caught up under steady writes: the
WAL grew by megabytes a second, each commit's sync then had to extend a file (0.25 ms
instead of 0.14 here), and each checkpoint copied seconds of frames while the commits
waited on the same disk (20 ms stalls). A 50 ms checkpoint is about 1 ms of copying.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Statement = tuple[str, tuple[Any, ...]]
CHECKPOINT_SECONDS = 0.05
# A WAL left long by a reader that held it is cut back to this when it starts over.
WAL_SIZE_LIMIT = 16 * 1024 * 1024


@dataclass(frozen=True)
class _Write:
    statements: tuple[Statement, ...]
    done: asyncio.Future[None]


_STOP = object()  # queued by `stop`: the thread finishes what is before it, then ends


class GroupCommitWriter:
    """The single writer of one database."""

    def __init__(
        self, path: Path, synchronous: str, *, checkpoint_seconds: float = CHECKPOINT_SECONDS
    ) -> None:
        self._path = path
        self._synchronous = synchronous
        self._checkpoint_seconds = checkpoint_seconds
        self._queue: queue.SimpleQueue[_Write | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = True
        self.commits = 0  # transactions committed: one per batch, or one per retried write
        self.checkpoints = 0  # WAL checkpoints run between batches

    async def start(self) -> None:
        """Open the writer's connection on its thread."""
        self._loop = asyncio.get_running_loop()
        opened: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._run, args=(opened,), name="store-writer", daemon=True
        )
        self._thread.start()
        await opened
        self._closed = False

    async def stop(self) -> None:
        """Finish queued writes, stop, and fold the WAL back into the database."""
        self._closed = True
        if self._thread is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    async def write(self, statements: tuple[Statement, ...]) -> None:
        """Run statements in one transaction with whatever else is waiting; wait for it."""
        if self._closed or self._loop is None:
            raise sqlite3.ProgrammingError("store writer is closed")
        done: asyncio.Future[None] = self._loop.create_future()
        self._queue.put(_Write(statements, done))
        await done

    def _run(self, opened: asyncio.Future[None]) -> None:
        """The writer thread: connect, then commit batches until told to stop."""
        assert self._loop is not None
        try:
            db = self._connect()
        except BaseException as exc:
            self._loop.call_soon_threadsafe(_settle_one, opened, exc)
            return
        self._loop.call_soon_threadsafe(_settle_one, opened, None)
        try:
            stopping = False
            checkpointed = time.monotonic()
            while not stopping:
                batch: list[_Write] = []
                item = self._queue.get()
                while True:
                    if item is _STOP:
                        stopping = True
                    elif isinstance(item, _Write):
                        batch.append(item)
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if batch:
                    outcomes = self._commit_all(db, batch)
                    self._loop.call_soon_threadsafe(_settle, batch, outcomes)
                    if time.monotonic() - checkpointed >= self._checkpoint_seconds:
                        self._checkpoint(db)
                        checkpointed = time.monotonic()
        finally:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout=5000")
        db.execute(f"PRAGMA synchronous={self._synchronous}")
        db.execute("PRAGMA wal_autocheckpoint=0")
        db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        return db

    def _checkpoint(self, db: sqlite3.Connection) -> None:
        # PASSIVE: a reader holding an old snapshot only shortens this one, never blocks.
        try:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.checkpoints += 1
        except sqlite3.Error:
            log.warning("WAL checkpoint failed; retrying later", exc_info=True)

    def _commit_all(
        self, db: sqlite3.Connection, batch: list[_Write]
    ) -> list[BaseException | None]:
        try:
            _commit(db, [st for write in batch for st in write.statements])
            self.commits += 1
            return [None] * len(batch)
        except Exception:
            # One bad write must not fail the others: retry each on its own.
            outcomes: list[BaseException | None] = []
            for write in batch:
                try:
                    _commit(db, list(write.statements))
                    self.commits += 1
                    outcomes.append(None)
                except Exception as exc:
                    outcomes.append(exc)
            return outcomes


def _commit(db: sqlite3.Connection, statements: list[Statement]) -> None:
    """One transaction; runs of the same statement (many webhooks) in one executemany."""
    db.execute("BEGIN")
    try:
        i = 0
        while i < len(statements):
            j = i
            while j < len(statements) and statements[j][0] == statements[i][0]:
                j += 1
            db.executemany(statements[i][0], [p for _, p in statements[i:j]])
            i = j
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _settle(batch: list[_Write], outcomes: list[BaseException | None]) -> None:
    for write, outcome in zip(batch, outcomes, strict=True):
        _settle_one(write.done, outcome)


def _settle_one(done: asyncio.Future[None], outcome: BaseException | None) -> None:
    if done.done():  # the waiter gave up (cancelled)
        return
    if outcome is None:
        done.set_result(None)
    else:
        done.set_exception(outcome)
