"""Detectors over log excerpts: each container's most telling line, through the catalogue.

Called by `triage.verdict` through `detect` (pure). Logs speak whether or not anything
rolled out: a dependency refusing connections, CUDA out of memory, an input schema the
callers changed. A warning weighs less than an error, a traceback more than a bare line.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.model.cluster_evidence import LogsEvidence
from bot.model.findings import Finding
from bot.triage.log_pattern import LogPattern
from bot.triage.log_patterns import match_line

_WARNING = re.compile(r"\bWARN(?:ING)?\b|level=warn", re.I)
_SEVERE = re.compile(r"\b(?:ERROR|CRITICAL|FATAL)\b|Traceback|\(traceback|level=error", re.I)


def _strength(line: str, base: float) -> float:
    """A warning weighs less than an error; a traceback more than a bare error line."""
    if _WARNING.search(line) and not _SEVERE.search(line):
        return round(base * 0.5, 3)
    if "(traceback" in line:
        return max(base, 0.55)
    return base


def log_findings(
    logs: LogsEvidence, revision_of: Callable[[str], str], patterns: tuple[LogPattern, ...]
) -> list[Finding]:
    """Each container's most telling log line, through the catalogue; tracebacks as code."""
    out: list[Finding] = []
    for x in logs.excerpts:
        revision = revision_of(x.pod)
        which = " (previous instance)" if x.previous else ""
        matched = [(line, found) for line in x.lines if (found := match_line(line, patterns))]
        if matched:
            ranked = [(line, k, m, _strength(line, k.strength)) for line, (k, m) in matched]
            line, known, match, strength = max(ranked, key=lambda r: r[3])
            summary, action = known.describe(match)
            where = f"log of {x.container}{which}: {line}"
            out.append(
                Finding(
                    known.cause,
                    known.category,
                    strength,
                    summary,
                    where,
                    action,
                    known.action_kind,
                    pod=x.pod,
                    container=x.container,
                    revision=revision,
                )
            )
        elif x.has_traceback or x.error_count:
            first = next(
                (line for line in x.lines if "(traceback" in line), x.lines[0] if x.lines else ""
            )
            if not first:
                continue
            kind = "traceback" if x.has_traceback else "error"
            out.append(
                Finding(
                    "code",
                    "infrastructure",
                    0.4 if x.has_traceback else 0.25,
                    "The model server logs errors",
                    f"{kind} in the log of {x.container}{which}: {first}",
                    "Read the model server's log around the alert.",
                    pod=x.pod,
                    container=x.container,
                    revision=revision,
                )
            )
    return out
