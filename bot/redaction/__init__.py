"""The redaction boundary: no secret from the cluster, Prometheus, logs or a Job leaves.

At the bottom of the package (it imports nothing else of `bot`), so every layer may use it.
`redact(text)` masks the secret shapes of `redaction.shapes` in one string;
`redact_value(obj)` does it for every string inside a value (dataclasses, tuples, lists,
dicts, nested), whatever fields the evidence types gain. Both are idempotent.

Every path from outside to Slack, the store, the logs, the audit and the APIs, and the
point that redacts it:

1. Collectors -> evidence -> report. Every collector (`cluster.inference_services`,
   `cluster.pods`, `cluster.events`, `cluster.logs`, `cluster.autoscalers`,
   `promql.collector`, `promql.drift`, `drift.live_evidence`, `drift.stored_evidence`, and any added
   later) is run by `triage.pipeline._run_one`, which redacts the evidence
   (`redact_value`) and the note (a `CollectorError` or exception message) as the
   collector returns. **Boundary A.** Everything after it is built from redacted values:
   the findings and the verdict (`triage.detect_*`, `triage.verdict`), the `TriageReport`,
   and so
   - the `triages` table (`store.save_report`) and `GET /api/triages`;
   - `triage-bot triage` output, text and `--json` (`cli`, `offline`), and
     `triage-bot export-case`, which writes a stored report out as a corpus case;
   - the console notifier (`notify.text`) and Slack messages (`slack.render`, the
     `slack_outbox` / `slack_messages` tables, `slack.notifier`), thread replies on change;
   - button payloads and action requests, which are built from the stored report.
   Collectors that cut text short redact it first (`cluster.excerpt` log lines; the
   messages of `cluster.pods`, `cluster.events`, `cluster.inference_services`), because
   half a secret has no shape left to recognise; the boundary then finds nothing to do.
2. Actions -> outcome. `actions.runner.ActionRunner.execute` redacts every
   `ActionOutcome` (summary and detail: the retraining Job's failure reason and log tail,
   Kubernetes and Alertmanager API errors, exception messages) before it is returned.
   **Boundary B.** From there the outcome goes to the `action_runs` ledger, the
   `audit_log` table and `GET /api/audit`, the Slack thread and the message's outcome
   lines (`slack.dispatch`). `actions.retrain` also redacts the log tail where it reads
   it, so the text is clean even to a caller that bypasses the runner.
3. Log lines. `logs.TextFormatter` and `logs.JsonFormatter` redact each finished line,
   exception tracebacks included (`log.exception` in the pipeline, the worker, the runner).
   **Boundary C.**
4. Not redacted, by design: the Alertmanager webhook body (alert labels, annotations,
   `generatorURL`: written by whoever configured the rules, stored as received for
   durability and shown in the report's alert lines); Slack interaction payloads (users'
   own clicks); `GET /metrics` (collector names, verdict categories, drift feature names);
   reports stored by a version before this boundary existed, read back as they were.
"""

from __future__ import annotations

from bot.redaction.shapes import MASK
from bot.redaction.text import redact
from bot.redaction.values import redact_value

__all__ = ["MASK", "redact", "redact_value"]
