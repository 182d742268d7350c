"""The group-commit writer: shared commits, one bad write alone, drain, then refusal."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.store.group_commit import GroupCommitWriter

INSERT = "INSERT INTO t (id, name) VALUES (?, ?)"
UPSERT = "INSERT INTO t (id, name) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name"


def _rows(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as db:
        return [(int(a), str(b)) for a, b in db.execute("SELECT id, name FROM t ORDER BY id")]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    return path


async def test_concurrent_writes_share_commits_and_all_land(database: Path) -> None:
    writer = GroupCommitWriter(database, "FULL")
    await writer.start()
    await asyncio.gather(*(writer.write(((INSERT, (i, f"n{i}")),)) for i in range(250)))
    commits = writer.commits
    await writer.stop()
    assert _rows(database) == [(i, f"n{i}") for i in range(250)]
    assert 1 <= commits < 250  # they did not each get their own transaction


async def test_a_bad_write_fails_alone(database: Path) -> None:
    writer = GroupCommitWriter(database, "FULL")
    await writer.start()
    await writer.write(((INSERT, (1, "first")),))
    outcomes = await asyncio.gather(
        writer.write(((INSERT, (2, "two")),)),
        writer.write(((INSERT, (1, "again")),)),  # primary key taken
        writer.write(((INSERT, (3, "three")), (UPSERT, (2, "two, updated")))),
        return_exceptions=True,
    )
    await writer.stop()
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], sqlite3.IntegrityError)
    assert _rows(database) == [(1, "first"), (2, "two, updated"), (3, "three")]


async def test_stop_finishes_queued_writes_then_refuses(database: Path) -> None:
    writer = GroupCommitWriter(database, "NORMAL")
    await writer.start()
    pending = [asyncio.ensure_future(writer.write(((INSERT, (i, "x")),))) for i in range(20)]
    await asyncio.sleep(0)  # queued, not yet committed
    await writer.stop()
    await asyncio.gather(*pending)
    assert len(_rows(database)) == 20
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        await writer.write(((INSERT, (99, "late")),))


async def test_a_cancelled_waiter_does_not_break_the_batch(database: Path) -> None:
    writer = GroupCommitWriter(database, "FULL")
    await writer.start()
    gone = asyncio.ensure_future(writer.write(((INSERT, (1, "gone")),)))
    kept = asyncio.ensure_future(writer.write(((INSERT, (2, "kept")),)))
    await asyncio.sleep(0)
    gone.cancel()
    await kept
    await writer.stop()
    # cancelling the wait does not undo the write: it was already handed over
    assert _rows(database) == [(1, "gone"), (2, "kept")]


def _wal_bytes(database: Path) -> int:
    wal = database.with_name(database.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


async def test_steady_writes_keep_the_wal_short(database: Path) -> None:
    # Checkpoints on a connection of their own never caught up with steady writes, and
    # the WAL grew by everything written; between batches each one copies every frame.
    writer = GroupCommitWriter(database, "FULL", checkpoint_seconds=0.01)
    await writer.start()
    text = "x" * 8000
    written = 0
    longest = 0
    for i in range(600):
        await writer.write(((INSERT, (i, text)),))
        written += len(text)
        longest = max(longest, _wal_bytes(database))
    await writer.stop()
    assert len(_rows(database)) == 600
    assert writer.checkpoints >= 3
    # Never checkpointed, this WAL would hold about twice what was written (whole pages).
    assert longest < written / 2, (longest, written)


async def test_a_reader_holding_a_snapshot_does_not_stop_the_writes(database: Path) -> None:
    writer = GroupCommitWriter(database, "FULL", checkpoint_seconds=0.0)
    await writer.start()
    await writer.write(((INSERT, (0, "before")),))
    reader = sqlite3.connect(database, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT COUNT(*) FROM t").fetchone() == (1,)  # snapshot taken
    for i in range(1, 30):
        await writer.write(((INSERT, (i, "while read")),))
    assert reader.execute("SELECT COUNT(*) FROM t").fetchone() == (1,)  # still its snapshot
    reader.execute("COMMIT")
    reader.close()
    await writer.write(((INSERT, (30, "after")),))
    await writer.stop()
    assert len(_rows(database)) == 31
    assert writer.checkpoints >= 30
