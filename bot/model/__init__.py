"""The types every layer shares: alerts, evidence, findings, verdict, report, target,
change, action names and the collector protocol. Imports nothing else of `bot`.

The evidence modules are imported here so that every evidence kind is registered before
a stored report is read back (`model.evidence.evidence_from_dict`).
"""

from bot.model import cluster_evidence, kserve_evidence, signal_evidence

__all__ = ["cluster_evidence", "kserve_evidence", "signal_evidence"]
