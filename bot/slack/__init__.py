"""Slack: Block Kit rendering, the notifier transport and interactivity."""
