"""The types every layer shares: alerts, evidence, findings, verdict, report, target,
change, action names and the collector protocol. Imports nothing else of `bot`."""
