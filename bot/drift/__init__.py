"""Drift engine: ingest of production inputs, windows, reference samples, statistics."""
