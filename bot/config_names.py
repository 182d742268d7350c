"""How a setting is named to a person: its environment variable or its config-file key.

Called by `config.load_settings` (the one-line message of an invalid configuration) and
by `preflight` (the fix a start-up failure names). A value set in the environment is
named by its variable, so the fix is made where the value came from.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

# Fields read from a variable other than TRIAGE_BOT_<FIELD> (their validation aliases).
_ENV_ALIASES = {
    "kubeconfig": "KUBECONFIG",
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN",
}


def env_name(*path: str) -> str:
    """The environment variable of a setting (`drift`, `alpha` -> TRIAGE_BOT_DRIFT__ALPHA)."""
    if len(path) == 1 and path[0] in _ENV_ALIASES:
        return _ENV_ALIASES[path[0]]
    return "TRIAGE_BOT_" + "__".join(p.upper() for p in path)


def setting_name(*path: str, file_values: dict[str, Any] | None = None) -> str:
    """How a person set this value: its environment variable when set there, else its key.

    Error messages name it, so the fix is made where the value came from.
    """
    first = path[0] if path else ""
    alias = {v.lower(): k for k, v in _ENV_ALIASES.items()}.get(first.lower())
    if alias is not None:  # pydantic reports an alias-read field under the alias
        path = (alias, *path[1:])
    for depth in range(len(path), 0, -1):  # a nested value may come from its parent's JSON
        if env_name(*path[:depth]) in os.environ:
            return env_name(*path[:depth])
    key = ".".join(path) or "(top level)"
    return key if file_values is None or first not in file_values else f"{key} (config file)"


def _message(item: Any) -> str:
    # pydantic prefixes a validator's ValueError with "Value error, ": the reader needs
    # only the reason.
    return str(item["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")


def format_errors(error: ValidationError, source: str, file_values: dict[str, Any]) -> str:
    """One line naming each invalid setting where it was set, and what is wrong with it."""
    items = error.errors()
    parts = []
    for item in items:
        path = tuple(str(p) for p in item["loc"])
        parts.append(f"{setting_name(*path, file_values=file_values)}: {_message(item)}")
    if len(parts) == 1:
        return f"invalid configuration ({source}): {parts[0]}"
    return f"invalid configuration ({source}): " + "; ".join(parts)


def unknown_variables(fields: Iterable[str]) -> list[str]:
    """`TRIAGE_BOT_*` variables that name no setting: the settings ignore them silently."""
    known = {f.upper() for f in fields}
    return sorted(
        name
        for name in os.environ
        if name.startswith("TRIAGE_BOT_")
        and name.removeprefix("TRIAGE_BOT_").split("__")[0] not in known
    )
