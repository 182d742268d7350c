"""Benchmark the redaction boundary against the redactor it replaced, in the same run.

Cases, each a median (with min-max range) over the rounds:

- a 2,000-line log tail of a model server (INFO access lines, warnings, a traceback,
  a few lines with secrets), redacted whole, as `cluster.excerpt` does: new vs old;
- the same tail when every line names a secret (the worst case for the hints that let
  most shapes skip a text): new vs old;
- `cluster.excerpt.extract` on the tail (redaction plus folding: what one logs read costs);
- `redact_value` on the evidence of one triage with 100 pods, 100 events and 3 log
  excerpts: what the boundary in `triage.pipeline` adds to each triage.

The old redactor is the one `bot/cluster/redaction.py` held before (copied below as the
baseline); it caught fewer shapes, so the ratio is the price of the new ones.

    .venv/bin/python bench/redaction.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import functools
import re
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bot.cluster.excerpt import extract
from bot.model.cluster_evidence import (
    ContainerState,
    EventsEvidence,
    KubeEvent,
    LogExcerpt,
    LogsEvidence,
    PodsEvidence,
    PodState,
)
from bot.redaction import redact, redact_value

_OLD_KEY = (
    r"(?:pass(?:word|wd)?|pwd|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token"
    r"|id[_-]?token|auth[_-]?token|api[_-]?key|apikey|access[_-]?key(?:[_-]?id)?"
    r"|secret[_-]?access[_-]?key|private[_-]?key|credentials?|session[_-]?key|signing[_-]?key"
    r"|x-api-key|sas|sig|signature)"
)
_OLD = (
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
            re.DOTALL,
        ),
        "[REDACTED PRIVATE KEY]",
    ),
    (re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE), r"\1 X"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "X"),
    (re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@"), r"\1X@"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "X"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "X"),
    (re.compile(r"\bxapp-[A-Za-z0-9-]{10,}"), "X"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), "X"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"), "X"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), "X"),
    (re.compile(r"((?:Account|SharedAccess)Key|Password|Pwd)=([^;\s]+)", re.IGNORECASE), r"\1=X"),
    (
        re.compile(rf"""(["']?\b[\w.-]*{_OLD_KEY}["']?\s*[:=]\s*)(["'])(.*?)\2""", re.IGNORECASE),
        r"\1\2X\2",
    ),
    (
        re.compile(rf"""(["']?\b[\w.-]*{_OLD_KEY}["']?\s*[:=]\s*)([^\s"'&,;}}]+)""", re.IGNORECASE),
        r"\1X",
    ),
)


def old_redact(text: str) -> str:
    """The redactor before the boundary: every pattern over the whole text."""
    for pattern, replacement in _OLD:
        text = pattern.sub(replacement, text)
    return text


def log_tail(lines: int, secret_every: int) -> str:
    """A model server's log: access lines, warnings, a traceback, secrets now and then."""
    out = []
    for i in range(lines):
        stamp = f"2026-11-24 18:{i // 60 % 60:02d}:{i % 60:02d},{i % 1000:03d}"
        if secret_every and i % secret_every == 0:
            out.append(f"{stamp} INFO kserve: feature store postgresql://svc:pw{i}@db:5432/f")
            out.append(f"{stamp} DEBUG env HF_TOKEN=hf_{'a' * 30}{i} api_key=k{i}")
        elif i % 97 == 0:
            out += [
                "Traceback (most recent call last):",
                '  File "/app/model.py", line 42, in predict',
                "    x = payload['fixed_acidity']",
                "KeyError: 'fixed_acidity'",
            ]
        elif i % 13 == 0:
            out.append(f"{stamp} WARNING kserve: slow request id=7f3c{i:04x} took {i % 900} ms")
        else:
            out.append(
                f'{stamp} INFO uvicorn.access: 10.0.{i % 250}.7:5{i % 9999:04d} - "POST '
                f'/v1/models/wine:predict HTTP/1.1" 200 token count={i % 50} tokenizer=bert'
            )
    return "\n".join(out[:lines]) + "\n"


def triage_evidence(pods: int) -> tuple[object, ...]:
    """The evidence of one triage of a big model: pods, events, log excerpts."""
    now = datetime(2026, 11, 24, 19, tzinfo=UTC)
    states = tuple(
        PodState(
            f"wine-predictor-00003-deployment-7d9f-{i:05d}",
            "Running",
            True,
            node=f"node-{i % 7}",
            started_at=now,
            containers=(
                ContainerState("kserve-container", True, 0, memory_limit_bytes=2 << 30),
                ContainerState("queue-proxy", True, 0),
            ),
        )
        for i in range(pods)
    )
    events = tuple(
        KubeEvent(
            "Unhealthy", f"Readiness probe failed: HTTP probe failed with {i}", "Pod", f"p{i}"
        )
        for i in range(pods)
    )
    excerpt = extract(log_tail(2000, 0))
    logs = tuple(LogExcerpt(f"p{i}", "kserve-container", False, excerpt.lines) for i in range(3))
    return (
        PodsEvidence(states, "serving.kserve.io/inferenceservice=wine"),
        EventsEvidence(events),
        LogsEvidence(logs),
    )


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return samples


def show(name: str, samples: list[float]) -> None:
    median = statistics.median(samples) * 1000
    print(f"{name:<44} {median:8.2f} ms  ({min(samples) * 1000:.2f}-{max(samples) * 1000:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    ordinary, dense = log_tail(2000, 50), log_tail(2000, 1)
    print(f"log tail: 2,000 lines, {len(ordinary):,} chars; dense: {len(dense):,} chars")
    for name, text in (("2,000-line tail", ordinary), ("2,000 lines, all with secrets", dense)):
        # Old and new alternate within each round so that load from other processes
        # weighs on both alike; the ratio is the median of the rounds' ratios.
        old, new = [], []
        for _ in range(args.rounds):
            old += timed(functools.partial(old_redact, text), 1)
            new += timed(functools.partial(redact, text), 1)
        show(f"{name}: old redactor", old)
        show(f"{name}: redact", new)
        ratios = sorted(n / o for n, o in zip(new, old, strict=True))
        low, high = ratios[0], ratios[-1]
        print(f"{'':44} ratio {statistics.median(ratios):.2f}x old ({low:.2f}-{high:.2f})")
    show("excerpt.extract of the 2,000-line tail", timed(lambda: extract(ordinary), args.rounds))
    evidence = triage_evidence(100)
    show(
        "redact_value, one triage (100 pods/events)",
        timed(lambda: redact_value(evidence), args.rounds),
    )


if __name__ == "__main__":
    main()
