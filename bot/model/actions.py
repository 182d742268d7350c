"""The names of the actions a person can take on a triage (the buttons, the runner).

Packed into buttons by `slack.buttons`, carried by `actions.base.ActionRequest`, run by
`actions.runner`.
"""

from __future__ import annotations

from typing import Literal

ActionName = Literal["ack", "silence", "rollback", "retrain", "feedback"]
ACTIONS: tuple[ActionName, ...] = ("ack", "silence", "rollback", "retrain", "feedback")
