"""Runs actions once: claims the run in the ledger, acts, records how it ended.

Called by `slack.dispatch` for every authorized click: `claim` answers at once (so Slack
hears back within 3 s), `execute` may take minutes in a background task. Claims are
serialized by a lock so two clicks arriving together cannot both win; across replicas
the ledger does it (`actions.pg_ledger`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from bot.actions.base import EXCLUSIVE, Action, ActionError, ActionOutcome, ActionRequest
from bot.actions.ledger import ActionLedger, Claim
from bot.redaction import redact_value

log = logging.getLogger(__name__)


class ActionRunner:
    """The actions by name, over the ledger."""

    def __init__(self, ledger: ActionLedger, actions: Mapping[str, Action]) -> None:
        self._ledger = ledger
        self._actions = dict(actions)
        self._lock = asyncio.Lock()

    def action(self, name: str) -> Action | None:
        """The action of a button, if this bot can run it."""
        return self._actions.get(name)

    async def claim(self, request: ActionRequest) -> Claim:
        """Reserve the run; duplicate or busy when something is in the way."""
        async with self._lock:
            return await self._ledger.claim(
                request.key(),
                request.model,
                request.action,
                request.user_id,
                request.now,
                exclusive=request.action in EXCLUSIVE,
            )

    async def execute(self, request: ActionRequest) -> ActionOutcome:
        """Run a claimed request and record its end; never raises for the action's failure."""
        action = self._actions.get(request.action)
        try:
            if action is None:
                raise ActionError(f"{request.action} is not available: no cluster is configured")
            outcome = await action.run(request)
        except ActionError as exc:
            outcome = ActionOutcome(False, str(exc))
        except Exception as exc:  # a bug must still close the run and tell the thread
            log.exception("action failed", extra={"action": request.action, "model": request.model})
            outcome = ActionOutcome(False, f"failed: {type(exc).__name__}: {exc}")
        # The boundary for actions: outcomes quote the cluster (Job logs, API errors) and
        # go to the ledger, the audit log and the Slack thread.
        outcome = redact_value(outcome)
        await self._ledger.finish(request.key(), outcome.ok, outcome.summary, outcome.until)
        return outcome
