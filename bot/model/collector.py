"""The collector interface: one concern of evidence, gathered for one alert group.

The pipeline (`triage.pipeline`) calls every configured collector concurrently, each
under its own timeout. Collectors live in `bot.cluster`, `bot.promql` and
`bot.drift`; they never raise on purpose: an expected failure is a `CollectorError`
whose message becomes the note on the triage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from bot.model.alert import Notification
from bot.model.results import AnyEvidence
from bot.model.target import Target


class CollectorError(Exception):
    """A collector could not gather its evidence; the message is shown to people."""


def workload_namespace(target: Target) -> str | None:
    """Where to look: None when the labels name no workload (nothing to read).

    A workload without a namespace is a `CollectorError`: the alert cannot be placed.
    """
    if not target.names_workload:
        return None
    if not target.namespace:
        raise CollectorError(f"the alert labels name {target.describe()} but no namespace")
    return target.namespace


T = TypeVar("T")


class SharedReads:
    """Reads several collectors of one triage need, made once and awaited by each.

    The pods and the logs collectors both list the target's pods: the second one awaits
    the first one's request instead of sending its own. Each waiter is shielded, so a
    collector that times out does not cancel the read for the others; `cancel` ends
    what is still running when the triage is over.
    """

    def __init__(self) -> None:
        self._reads: dict[Hashable, asyncio.Future[Any]] = {}

    async def once(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """The result of `read()`, called the first time `key` is asked for."""
        pending = self._reads.get(key)
        if pending is None:
            pending = self._reads[key] = asyncio.ensure_future(read())
        result: T = await asyncio.shield(pending)
        return result

    def cancel(self) -> None:
        """Cancel reads still running (their collectors gave up)."""
        for pending in self._reads.values():
            if not pending.done():
                pending.cancel()
            elif not pending.cancelled():
                pending.exception()  # retrieved: a failure was reported by its collector


@dataclass(frozen=True)
class TriageContext:
    """What a collector knows about the alert group it works for."""

    notification: Notification
    target: Target
    alert_start: datetime
    now: datetime
    shared: SharedReads = field(default_factory=SharedReads, compare=False)


class Collector(Protocol):
    """Gathers one kind of evidence."""

    @property
    def name(self) -> str:
        """Shown in notes, e.g. "Kubernetes pods"."""
        ...

    @property
    def timeout(self) -> float:
        """Seconds this collector may take inside the overall budget."""
        ...

    async def collect(self, context: TriageContext) -> AnyEvidence | None:
        """The evidence, None when there is nothing to say, or `CollectorError`."""
        ...
