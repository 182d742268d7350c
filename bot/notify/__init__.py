"""Notifiers: where finished triages go (console by default, Slack when configured)."""
