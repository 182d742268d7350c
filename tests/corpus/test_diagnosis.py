"""The diagnosis gate: the corpus triaged through the real clients, scored against its truth.

`make test` fails below 90% right verdicts or 90% facts named, on any leaked secret, on
any harmful advice, or when a triage takes 2 s or more (except where the case makes the API
server slow on purpose: then the collector's timeout bounds it). bench/diagnosis.py prints the
confusion matrix and every miss.
"""

from __future__ import annotations

from pathlib import Path

from tests.corpus.runner import run_corpus
from tests.corpus.schema import load_cases, load_incidents
from tests.corpus.score import Summary, score


async def test_the_corpus_is_diagnosed_right(tmp_path: Path) -> None:
    outcomes = await run_corpus({**load_cases(), **load_incidents()}, tmp_path)
    summary = Summary([score(o) for o in outcomes])
    wrong = [f"{s.name}: {s.expected} != {s.got}" for s in summary.scores if not s.right]
    assert summary.leaks == 0, [s.leaks for s in summary.scores if s.leaks]
    assert summary.harm == 0, [(s.name, s.harm) for s in summary.scores if s.harm]
    assert summary.accuracy >= 0.9, wrong
    assert summary.facts_recall >= 0.9, [(s.name, s.missed) for s in summary.scores if s.missed]
    # A case whose API server is made slow waits out the collector's timeout (3 s by
    # default) by design; every other case must be decided in under 2 s.
    delayed = {o.name for o in outcomes if any(f.delay for f in o.case.faults)}
    slow = [
        (s.name, round(s.seconds, 2))
        for s in summary.scores
        if s.seconds >= 2.0 and s.name not in delayed
    ]
    assert not slow, slow
