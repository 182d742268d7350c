"""One triage without the service: the `triage-bot triage` command's engine.

Builds the same collectors and verdict as the service (`sources.open_pipeline`), runs
them once on a saved notification and closes everything again. No store, no notifier.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from bot.config import Settings
from bot.model.alert import Notification
from bot.model.report import TriageReport
from bot.sources import open_pipeline


async def triage_offline(settings: Settings, notification: Notification) -> TriageReport:
    """The report the service would make for this notification now."""
    async with AsyncExitStack() as stack:
        pipeline = await open_pipeline(settings, stack)
        return await pipeline.run(notification)
