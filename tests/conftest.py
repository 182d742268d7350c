"""Suite-wide fixtures: every test starts from an environment without the bot's settings."""

from __future__ import annotations

import os

import pytest

_SETTING_PREFIXES = ("TRIAGE_BOT_", "SLACK_")
_SETTING_NAMES = ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")


@pytest.fixture(autouse=True)
def _clean_settings_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The environment wins over values passed to Settings, so a variable exported by the
    # shell (or `make run`) would silently redirect every test's data dir or cluster.
    for name in list(os.environ):
        if name.startswith(_SETTING_PREFIXES) or name in _SETTING_NAMES:
            monkeypatch.delenv(name)
