"""Diagnosis quality on the incident corpus: confusion matrix, accuracy, facts, leaks, harm.

    .venv/bin/python bench/diagnosis.py [--cases DIR] [--verbose]

Serves each case of tests/corpus/cases (or DIR) to the fake Kubernetes API and a real
Prometheus, triages it through the same engine as `triage-bot triage --json`, and scores
it (tests/corpus/score.py). Exits 1 below 90% verdicts or facts, or on any leak or harm.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.corpus.runner import run_corpus  # noqa: E402
from tests.corpus.schema import CASES_DIR, load_cases, load_incidents  # noqa: E402
from tests.corpus.score import Summary, score  # noqa: E402

CATEGORIES = ("infrastructure", "rollout", "data-drift", "concept-drift", "unknown")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=CASES_DIR)
    parser.add_argument("--verbose", action="store_true", help="print every case's verdict")
    args = parser.parse_args()
    cases = load_cases(args.cases)
    if args.cases == CASES_DIR:
        cases |= load_incidents()  # real incidents exported with `triage-bot export-case`
    with tempfile.TemporaryDirectory() as tmp:
        outcomes = asyncio.run(run_corpus(cases, Path(tmp)))
    summary = Summary([score(o) for o in outcomes])
    matrix = summary.confusion()
    print(f"{len(summary.scores)} cases from {args.cases}")
    print("expected \\ got".ljust(16) + "".join(c[:8].rjust(10) for c in CATEGORIES))
    for expected in CATEGORIES:
        row = "".join(str(matrix.get((expected, got), 0)).rjust(10) for got in CATEGORIES)
        print(expected.ljust(16) + row)
    times = sorted(s.seconds for s in summary.scores)
    print(f"verdicts right   {summary.accuracy:.1%}")
    print(f"causes right     {summary.cause_accuracy:.1%}")
    print(f"facts named      {summary.facts_recall:.1%}")
    print(f"abstentions      {summary.abstention:.1%}")
    print(f"leaks            {summary.leaks}")
    print(f"harmful advice   {summary.harm}")
    print(f"seconds a case   median {statistics.median(times):.3f}, max {times[-1]:.3f}")
    by_name = {o.name: o for o in outcomes}
    for s in summary.scores:
        bad = not s.right or s.missed or s.leaks or s.harm or s.cause_expected != s.cause_got
        if bad or args.verbose:
            print(f"- {s.name}: {s.expected}/{s.cause_expected} -> {s.got}/{s.cause_got}")
            if s.missed:
                print(f"    missed facts: {', '.join(s.missed)}")
            if s.leaks or s.harm:
                print(f"    leaks: {s.leaks} harm: {s.harm}")
            if args.verbose or not s.right:
                v = by_name[s.name].report.verdict
                print(f"    {v.summary} | {v.action}")
                for reason in v.reasons:
                    print(f"      · {reason}")
                for note in by_name[s.name].report.notes():
                    print(f"      note: {note}")
    ok = (
        summary.accuracy >= 0.9
        and summary.facts_recall >= 0.9
        and summary.leaks == 0
        and summary.harm == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
