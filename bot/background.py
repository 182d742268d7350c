"""Stopping a background task: cancel it and wait until it has finished.

Used by every long-running loop's `close` (drift rounds, the store sweeper, the Slack
sender, lease renewal). Waiting matters: a task cancelled but not awaited may still be
running its `finally` while the caller closes what that code uses (a pool, a session).
"""

from __future__ import annotations

import asyncio
import contextlib


async def stop(task: asyncio.Task[None] | None) -> None:
    """Cancel `task` (if any) and wait for it to end; its CancelledError is swallowed."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
