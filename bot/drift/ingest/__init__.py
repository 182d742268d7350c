"""Drift input: payload-logger CloudEvents, model bodies to rows, windows, feedback, CSV."""
