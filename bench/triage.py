"""Benchmark one triage against a Kubernetes API that takes 50 ms per call.

The fake API server (tests/fakes/fake_kube.py) runs in a subprocess with an InferenceService
of 100 ready pods and `latency` seconds added to every request. This process measures,
in the same run and through the real kubernetes-asyncio client:

- each cluster collector alone (its chain of dependent calls: get the InferenceService
  then list its revisions; list pods then read logs), p50 over the rounds;
- the whole triage (`Pipeline.run` with all collectors and the verdict), p50.

It prints the triage p50 against the slowest single collector chain (goal: under 1.5x),
and against the sum of the collectors, which is what running them one after another costs.

    .venv/bin/python bench/triage.py [--pods 100] [--latency 0.05] [--rounds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


async def _serve(pods: int, latency: float) -> None:
    """Child process: run the fake API server until stdin closes."""
    from tests.fakes.fake_kube import running_fake_kube
    from tests.fakes.kube_scenarios import FIXTURE_ALERT_START, healthy

    async with running_fake_kube() as kube:
        healthy(kube, FIXTURE_ALERT_START, pods=pods)
        kube.latency = latency
        with tempfile.TemporaryDirectory() as tmp:
            config = kube.write_kubeconfig(Path(tmp) / "kubeconfig")
            print(json.dumps({"kubeconfig": config.read_text()}), flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def _p50(samples: list[float]) -> float:
    return statistics.median(samples)


async def _measure(kubeconfig: Path, rounds: int) -> dict[str, Any]:
    from bot.cluster.factory import cluster_collectors
    from bot.config import Settings
    from bot.config_sections.triage import CollectorSettings
    from bot.model.alert import Notification
    from bot.model.collector import TriageContext
    from bot.triage.pipeline import Pipeline
    from bot.triage.target import resolve_target
    from bot.triage.verdict import decide
    from tests.fakes.kube_scenarios import FIXTURE_ALERT_START, alert_payload

    settings = Settings(
        kubeconfig=kubeconfig,
        in_cluster=False,
        collectors=CollectorSettings(kubernetes_timeout_seconds=30, budget_seconds=60),
    )
    start = FIXTURE_ALERT_START
    notification = Notification.model_validate(alert_payload(start))
    labels = {**notification.common_labels, **notification.group_labels}
    target = resolve_target(labels)
    alone: dict[str, list[float]] = {}
    whole: list[float] = []
    async with cluster_collectors(settings.kubeconfig, settings.collectors) as collectors:
        pipeline = Pipeline(collectors, decide, budget_seconds=60)
        await pipeline.run(notification)  # warm up connections and imports
        for _ in range(rounds):
            for collector in collectors:
                # A fresh context each: reads shared within a triage are not reused.
                context = TriageContext(notification, target, start, start)
                began = time.perf_counter()
                await collector.collect(context)
                alone.setdefault(collector.name, []).append(time.perf_counter() - began)
            began = time.perf_counter()
            report = await pipeline.run(notification)
            whole.append(time.perf_counter() - began)
            assert not report.notes(), report.notes()
    per_collector = {name: _p50(samples) for name, samples in alone.items()}
    return {
        "collectors": per_collector,
        "slowest": max(per_collector.values()),
        "sum": sum(per_collector.values()),
        "triage": _p50(whole),
        "triage_p90": statistics.quantiles(whole, n=10)[-1],
    }


async def _main(args: argparse.Namespace) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "--pods",
            str(args.pods),
            "--latency",
            str(args.latency),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        ready = json.loads(child.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = Path(tmp) / "kubeconfig"
            kubeconfig.write_text(ready["kubeconfig"])
            result = await _measure(kubeconfig, args.rounds)
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(timeout=10)
    ms = 1000
    print(f"{args.pods} pods, {args.latency * ms:.0f} ms per API call, {args.rounds} rounds")
    for name, seconds in result["collectors"].items():
        print(f"  {name:<26} alone  p50 {seconds * ms:7.1f} ms")
    print(f"  {'collectors one by one':<26} sum  {result['sum'] * ms:7.1f} ms")
    print(f"  {'triage (concurrent)':<26} p50  {result['triage'] * ms:7.1f} ms"
          f"  (p90 {result['triage_p90'] * ms:.1f} ms)")  # fmt: skip
    ratio = result["triage"] / result["slowest"]
    print(f"triage p50 / slowest collector chain: {ratio:.2f}x (goal < 1.5x)")
    print(f"sum of collectors / triage p50: {result['sum'] / result['triage']:.2f}x")


def main() -> None:
    """Parse arguments; run the server child or the measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    asyncio.run(_serve(args.pods, args.latency) if args.serve else _main(args))


if __name__ == "__main__":
    main()
