"""Benchmark the whole loop: from the first scrape showing errors to the Slack message.

Each round starts the end-to-end stack of tests/e2e/stack.py afresh (real Prometheus and
Alertmanager on loopback with the manifests' rules and routing, scrape and evaluation every
1 s, `for: 1s`, group_wait 1 s; the bot as `python -m bot serve` against the fake
Kubernetes API in the `bad-rollout` scenario and the fake Slack), switches the model to 30%
errors and measures, with one wall clock:

- chain: first bad scrape → the bot starts the triage (Prometheus + Alertmanager delays,
  and the webhook), the baseline: what any receiver of the alert would wait;
- bot: triage start → the message is in Slack (collectors, verdict, render, post);
- total: first bad scrape → Slack post, and its ratio to the chain;
- resolve: errors stop → the message is updated to resolved.

    .venv/bin/python bench/e2e.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


async def _round(workdir: Path) -> dict[str, float]:
    from tests.e2e.stack import CHANNEL, arrival, running_stack
    from tests.fakes.kube_scenarios import ISVC

    async with running_stack(workdir) as stack:
        await arrival(lambda: stack.simulator.scrapes >= 3, timeout=15, what="healthy scrapes")
        stack.simulator.set_error_ratio(ISVC, 0.3)
        posted = await arrival(
            lambda: stack.slack.channel_messages(CHANNEL), timeout=60, what="the Slack post"
        )
        first_bad = stack.simulator.model(ISVC).first_bad_scrape
        assert first_bad is not None
        [triage] = await stack.bot.wait_triages(lambda ts: len(ts) > 0)
        started = datetime.fromisoformat(triage["first_seen"]).timestamp()
        ts = stack.slack.channel_messages(CHANNEL)[0].ts
        stack.simulator.set_error_ratio(ISVC, 0.0)
        stopped = time.time()
        resolved = await arrival(
            lambda: stack.resolved_in_place(ts),
            timeout=60,
            what="the resolved update",
        )
    return {
        "chain": started - first_bad,
        "bot": posted - started,
        "total": posted - first_bad,
        "resolve": resolved - stopped,
    }


async def _main(rounds: int) -> None:
    samples: dict[str, list[float]] = {}
    for i in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            result = await _round(Path(tmp))
        for key, value in result.items():
            samples.setdefault(key, []).append(value)
        print(f"round {i + 1}: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.items()))
    p50 = {k: statistics.median(v) for k, v in samples.items()}
    print(f"\np50 of {rounds} rounds")
    print(f"  chain: first bad scrape -> bot starts triage   {p50['chain']:.2f} s (baseline)")
    print(f"  bot:   triage start -> Slack post              {p50['bot']:.2f} s")
    print(f"  total: first bad scrape -> Slack post          {p50['total']:.2f} s")
    print(f"  resolve: errors stop -> message resolved       {p50['resolve']:.2f} s")
    print(f"total / chain: {p50['total'] / p50['chain']:.2f}x")


def main() -> None:
    """Parse arguments and run the rounds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    asyncio.run(_main(args.rounds))


if __name__ == "__main__":
    main()
