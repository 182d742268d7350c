"""Alertmanager webhook: payload models and the receiving endpoint."""
