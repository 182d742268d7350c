"""From a verified click to an action: check, authorize, run once, audit, tell the thread.

`slack.interactions` (HTTP) and `slack.socket_mode` hand every parsed payload to `submit`,
which returns at once; the work runs in a background task kept in a set until done. For
each clicked element: the button must be ours and name the group's own workload; the user
must be authorized (`actions.authz`), else an ephemeral reply and nothing else; the
ledger (`actions.runner`) makes a double click run once. Every decision is audited, the
message state is updated and re-rendered, and the outcome goes into the thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import aiohttp
from prometheus_client import Counter
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions.audit import Audit, AuditEntry
from bot.actions.authz import Authorizer
from bot.actions.base import EXCLUSIVE, ActionOutcome, ActionRequest
from bot.actions.runner import ActionRunner
from bot.slack.buttons import ButtonError, ButtonPayload
from bot.slack.limits import clip, clip_code
from bot.slack.mrkdwn import escape, user_mention
from bot.slack.notifier import SlackNotifier
from bot.slack.payloads import BlockAction, InteractionPayload
from bot.slack.render import MAX_OUTCOMES, offered_buttons, target_ref
from bot.slack.tables import GroupMessage, SlackStore

log = logging.getLogger(__name__)


def _said(summary: str, user_id: str) -> str:
    """An outcome line escaped, with the clicking user's own mention (from the signed
    payload) kept as a mention: nothing else from the action can ping anyone."""
    mention = f"<@{user_id}>"
    return escape(summary).replace(escape(mention), user_mention(user_id))


class Dispatcher:
    """Runs clicks in the background; see the module docstring for the order of checks."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        tables: SlackStore,
        notifier: SlackNotifier,
        authorizer: Authorizer,
        runner: ActionRunner,
        audit: Audit,
        counter: Counter | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._tables = tables
        self._notifier = notifier
        self._authorizer = authorizer
        self._runner = runner
        self._audit = audit
        self._counter = counter
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._state_locks: dict[str, asyncio.Lock] = {}

    def submit(self, payload: InteractionPayload, source: str) -> None:
        """Start handling a payload in the background and return at once."""
        task = asyncio.create_task(self._handle(payload, source), name="slack-interaction")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def in_flight(self) -> int:
        """Payloads submitted and not yet handled (read by tests and `SlackService`)."""
        return len(self._tasks)

    async def drain(self, timeout: float) -> None:
        """Let running actions finish for up to `timeout` seconds, then cancel the rest."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in set(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, payload: InteractionPayload, source: str) -> None:
        if payload.type != "block_actions":
            return
        for element in payload.actions:
            if element.action_id.startswith("tb:"):
                try:
                    await self._one(payload, element, source)
                except Exception:  # one broken click must not stop the others
                    log.exception("interaction failed", extra={"user": payload.user.id})

    def _count(self, action: str, decision: str) -> None:
        if self._counter is not None:
            self._counter.labels(action=action, decision=decision).inc()

    async def _refuse(
        self, payload: InteractionPayload, entry: AuditEntry, decision: str, text: str
    ) -> None:
        await self._audit.record(replace(entry, decision=decision, reason=text))
        self._count(entry.action, decision)
        await self.ephemeral(payload, text)

    async def _one(self, payload: InteractionPayload, element: BlockAction, source: str) -> None:
        user = payload.user.id
        entry = AuditEntry(
            user, payload.user.username or payload.user.name, "?", "", "", "", "invalid", "", source
        )
        try:
            button = ButtonPayload.unpack(element.chosen)
        except ButtonError as exc:
            text = f"This button is not usable: {escape(str(exc))}"
            await self._refuse(payload, entry, "invalid", text)
            return
        entry = replace(
            entry, action=button.action, group_id=button.group, target=button.target, arg=button.arg
        )
        stored = await self._tables.load(button.group)
        if stored is None or target_ref(stored.report.target) != button.target:
            await self._refuse(payload, entry, "invalid", "This alert group is unknown here.")
            return
        refusal = self._not_offered(payload, button, stored)
        if refusal:
            await self._refuse(payload, entry, *refusal)
            return
        if button.action == "feedback":
            await self._feedback(payload, entry)
            return
        namespace, _, name = button.target.partition("/")
        decision = await self._authorizer.check(user, button.action, namespace)
        if not decision.allowed:
            await self._refuse(payload, entry, "refused", f"Not allowed: {decision.reason}.")
            return
        request = ActionRequest(
            button.action,
            button.group,
            namespace,
            name,
            button.arg,
            user,
            stored.report,
            self._clock(),
        )
        claim = await self._runner.claim(request)
        if claim.kind == "duplicate":
            said = f" ({escape(claim.result)})" if claim.result else ""
            who = user_mention(claim.user_id)
            text = f"Already {claim.status}: {claim.action} by {who}{said}."
            await self._refuse(payload, entry, "duplicate", text)
            return
        if claim.kind == "busy":
            who, model = user_mention(claim.user_id), escape(request.model)
            text = f"{claim.action} by {who} is running on {model}; wait."
            await self._refuse(payload, entry, "busy", text)
            return
        entry_id = await self._audit.record(
            replace(entry, decision="allowed", reason=decision.reason)
        )
        self._count(button.action, "allowed")
        action = self._runner.action(button.action)
        if action is not None and action.long_running:
            what = f"{button.action} of {request.model}" + (
                f" to {button.arg}" if button.arg else ""
            )
            text = f"⏳ {user_mention(user)} started {escape(what)}"
            await self._notifier.reply(button.group, text)
        outcome = await self._runner.execute(request)
        detail = outcome.summary + (f"\n{outcome.detail}" if outcome.detail else "")
        await self._audit.finish(entry_id, "ok" if outcome.ok else "failed", detail)
        await self._record(stored, request, outcome)

    def _not_offered(
        self, payload: InteractionPayload, button: ButtonPayload, stored: GroupMessage
    ) -> tuple[str, str] | None:
        """Why a click may not act (decision, reply), or None: the click must come from the
        message's own channel and name a button the message offers now."""
        if payload.channel_id != stored.channel:
            return "invalid", "This button belongs to a message in another channel."
        if button.action in EXCLUSIVE and stored.report.status == "resolved":
            text = (
                f"Refused: the alert group is resolved, so {button.action} of"
                f" {escape(button.target)} is no longer offered. If it is still needed,"
                " do it from the cluster or wait for the alert to fire again."
            )
            return "refused", text
        offered = offered_buttons(self._notifier.render(stored.report, state_of=stored))
        if button not in offered:
            return "invalid", "This button is no longer offered on the message; nothing was done."
        return None

    async def _feedback(self, payload: InteractionPayload, entry: AuditEntry) -> None:
        """A person's answer on the diagnosis: audited with who and when, nothing else runs."""
        verdict = "right" if entry.arg == "right" else "wrong"
        ref = await self._audit.record(replace(entry, decision="allowed", reason="feedback"))
        await self._audit.finish(ref, "ok", f"{verdict} diagnosis")
        self._count("feedback", "allowed")
        await self.ephemeral(payload, f"Thanks: recorded that the diagnosis was {verdict}.")

    async def _record(
        self, stored: GroupMessage, request: ActionRequest, outcome: ActionOutcome
    ) -> None:
        gid = stored.group_id
        async with self._state_locks.setdefault(gid, asyncio.Lock()):
            current = await self._tables.load(gid)
            state = current.state if current else stored.state
            if outcome.ok and request.action == "ack":
                state = replace(state, acknowledged_by=request.user_id, acknowledged_at=request.now)
            elif outcome.ok and request.action == "silence":
                state = replace(state, silenced_by=request.user_id, silenced_until=outcome.until)
            else:
                mark = "✅" if outcome.ok else "❌"
                line = clip(f"{mark} {request.action} by {request.user_id}: {outcome.summary}", 300)
                state = replace(state, outcomes=(*state.outcomes, line)[-MAX_OUTCOMES:])
            await self._tables.save_state(gid, state)
        await self._notifier.refresh(gid)
        # Outcomes carry Kubernetes messages and the Job's log tail: escaped like any outside
        # text (the stored state keeps them raw; `slack.render` escapes them when shown).
        text = ("✅ " if outcome.ok else "❌ ") + _said(outcome.summary, request.user_id)
        if not outcome.ok and outcome.detail:
            text += "\n" + clip_code(escape(outcome.detail), 2500)
        await self._notifier.reply(gid, text)

    async def ephemeral(self, payload: InteractionPayload, text: str) -> None:
        """A reply only the clicking user sees (best effort: a failure is logged)."""
        try:
            await self._client.chat_postEphemeral(
                channel=payload.channel_id, user=payload.user.id, text=text
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "ephemeral reply failed", extra={"user": payload.user.id, "error": str(exc)}
            )
