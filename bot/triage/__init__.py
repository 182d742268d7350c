"""Triage: evidence types, target resolution, the pipeline, the worker and the verdict."""
