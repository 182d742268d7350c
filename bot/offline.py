"""One triage without the service: the `triage-bot triage` command's engine.

Opens the same clients (`assembly.open_clients`) and builds the same collectors and
verdict (`sources.build_pipeline`) as the service, runs them once on a saved
notification and closes everything again. No store, no notifier.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from bot.assembly import open_clients
from bot.config import Settings
from bot.model.alert import Notification
from bot.model.report import TriageReport
from bot.sources import build_pipeline


async def triage_offline(settings: Settings, notification: Notification) -> TriageReport:
    """The report the service would make for this notification now."""
    async with AsyncExitStack() as stack:
        pipeline = build_pipeline(settings, await open_clients(settings, stack))
        return await pipeline.run(notification)
