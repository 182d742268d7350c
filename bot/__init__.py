"""triage-bot: diagnose failing ML models between Alertmanager and Slack."""

__version__ = "0.1.0"
