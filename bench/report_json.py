"""Benchmark a triage report's JSON form: what the store, the outbox and the API pay.

Each triage is stored as `json.dumps(report.to_dict())` (the SQLite or PostgreSQL
`triages` row, the Slack outbox) and read back with `TriageReport.from_dict(json.loads(..))`.
Measured on two reports: `tests/fixtures/stored-report.json` (one evidence of each kind)
and the same with its pods evidence grown to 100 pods. The baseline in the same run is
plain `json.dumps` / `json.loads` of the same dict (what no typing at all would cost);
`--before DIR` also measures another source tree of the bot (for example
`git archive main | tar -x -C DIR`), alternating with this one in each round.

    .venv/bin/python bench/report_json.py [--rounds 7] [--before DIR]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "stored-report.json"
CALLS = 200  # per sample; the median of 5 samples is a round's figure


def _reports() -> dict[str, dict[str, Any]]:
    small = json.loads(FIXTURE.read_text())
    large = copy.deepcopy(small)
    for result in large["results"]:
        evidence = result.get("evidence") or {}
        if evidence.get("kind") == "pods":
            pod = evidence["pods"][0]
            evidence["pods"] = [{**pod, "name": f"wine-{i:03d}"} for i in range(100)]
    return {"8 kinds": small, "100 pods": large}


def _per_call(work: Any) -> float:
    samples = []
    for _ in range(5):
        began = time.perf_counter()
        for _ in range(CALLS):
            work()
        samples.append((time.perf_counter() - began) / CALLS)
    return statistics.median(samples)


def _child() -> None:
    """Measure in this process, with `bot` from PYTHONPATH; print the figures as JSON."""
    import bot
    from bot.model.report import TriageReport

    tree = Path(os.environ["PYTHONPATH"]).resolve()
    assert Path(bot.__file__).resolve().parents[1] == tree, f"bot from {bot.__file__}, not {tree}"
    out: dict[str, float] = {}
    for name, data in _reports().items():
        text = json.dumps(data)
        report = TriageReport.from_dict(json.loads(text))
        assert report.to_dict() == data, "the tree under test writes another form"
        out[f"{name} write"] = _per_call(lambda r=report: json.dumps(r.to_dict()))
        out[f"{name} read"] = _per_call(lambda t=text: TriageReport.from_dict(json.loads(t)))
        out[f"{name} plain write"] = _per_call(lambda d=data: json.dumps(d))
        out[f"{name} plain read"] = _per_call(lambda t=text: json.loads(t))
    print(json.dumps(out))


def _run(tree: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # before the editable install
    done = subprocess.run(
        [sys.executable, __file__, "--child"], env=env, capture_output=True, text=True, check=True
    )
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def _ms(values: list[float]) -> str:
    low, high = min(values) * 1e3, max(values) * 1e3
    return f"{statistics.median(values) * 1e3:.3f} ms ({low:.3f}-{high:.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--before", type=Path, help="another source tree of the bot to measure")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child()
        return
    trees = {"now": ROOT, **({"before": args.before.resolve()} if args.before else {})}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            results[name].append(_run(tree))
    keys = list(results["now"][0])
    for key in keys:
        if "plain" in key:
            continue
        now = [r[key] for r in results["now"]]
        plain = [
            r[key.replace(" write", " plain write").replace(" read", " plain read")]
            for r in results["now"]
        ]
        line = f"{key:<16} now {_ms(now)}; plain json {_ms(plain)}"
        if args.before:
            before = [r[key] for r in results["before"]]
            ratios = [n / b for n, b in zip(now, before, strict=True)]
            line += f"; before {_ms(before)}; now/before {statistics.median(ratios):.2f}x"
            line += f" ({min(ratios):.2f}-{max(ratios):.2f})"
        print(line)


if __name__ == "__main__":
    main()
