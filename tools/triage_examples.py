"""Writes docs/triage-examples.md: one real triage of each category, printed by the CLI.

    .venv/bin/python tools/triage_examples.py [--check]

Each example is a case of the incident corpus (tests/corpus/cases) served to the fake
Kubernetes API (and, where the case says so, a drift store or a real Prometheus), then
triaged by `triage-bot triage PAYLOAD --kubeconfig K [--data-dir D] [--prometheus-url P]`
(`bot.cli.main`, in process), its output copied verbatim. `--check` exits 1 when the file
on disk differs from what the CLI prints now, so the docs cannot drift from the code; the
report of one example is also written for docs/images/slack-message.png (see --report).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.cli import main as cli  # noqa: E402
from tests.corpus.runner import load_into, prometheus_with, webhook  # noqa: E402
from tests.corpus.schema import Case, load_cases  # noqa: E402
from tests.corpus.stores import write_drift_store  # noqa: E402
from tests.fakes.fake_kube import FakeKube, running_fake_kube  # noqa: E402

DOC = ROOT / "docs" / "triage-examples.md"
EXAMPLES = {
    "rollout": "rollout-keyerror-new-revision",
    "infrastructure": "infra-feature-db-timeouts-raw",
    "data-drift": "data-input-feature-count-changed-upstream-raw",
    "concept-drift": "concept-accuracy-drop-inputs-stable-data-dir",
    "unknown": "unknown-latency-blip-everything-healthy-raw",
}


@contextlib.contextmanager
def served(cases: list[Case], workdir: Path) -> Iterator[tuple[FakeKube, str | None]]:
    """The fake API and (when a case needs one) Prometheus, on a loop of their own."""
    loop = asyncio.new_event_loop()
    ready: asyncio.Future[tuple[FakeKube, str | None]] = loop.create_future()
    stop = asyncio.Event()

    async def serve() -> None:
        async with running_fake_kube() as kube, prometheus_with(cases, workdir) as prom:
            ready.set_result((kube, prom))
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        started = asyncio.wait_for(asyncio.shield(ready), 60)
        yield asyncio.run_coroutine_threadsafe(started, loop).result(60)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)


def run_cli(argv: list[str]) -> str:
    """What `triage-bot ARGV` prints on stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli(argv)
    if code != 0:
        raise RuntimeError(f"triage-bot {' '.join(argv)} exited {code}")
    return out.getvalue()


def examples(workdir: Path, report_out: Path | None = None) -> str:
    """The document's text."""
    cases = load_cases()
    chosen = {category: (name, cases[name]) for category, name in EXAMPLES.items()}
    parts = [
        "# A real triage of each category",
        "",
        "Printed by `triage-bot triage` for cases of the incident corpus (tests/corpus/cases),",
        "served to the fake Kubernetes API. Made by `tools/triage_examples.py`; a test checks",
        "this file against what the command prints now.",
    ]
    with served([c for _, c in chosen.values()], workdir) as (kube, prom):
        kubeconfig = str(kube.write_kubeconfig(workdir / "kubeconfig"))
        for category, (name, case) in chosen.items():
            load_into(kube, case)  # plain dicts, read by the server only while we wait below
            payload = workdir / f"{name}.json"
            payload.write_text(json.dumps(webhook(case)))
            argv = ["triage", str(payload), "--kubeconfig", kubeconfig]
            shown = f"triage-bot triage {name}.json --kubeconfig kubeconfig"
            if case.drift is not None and case.drift.via == "data-dir":
                data = workdir / "data" / name
                asyncio.run(write_drift_store(data, case))
                argv += ["--data-dir", str(data)]
                shown += " --data-dir var"
            if prom and (case.prometheus or (case.drift and case.drift.via == "prometheus")):
                argv += ["--prometheus-url", prom]
                shown += " --prometheus-url http://prometheus:9090"
            text = run_cli(argv)
            if report_out is not None and category == "rollout":
                report_out.write_text(run_cli([*argv, "--json"]))
            parts += ["", f"## {category}: {case.title}", "", f"`{shown}`", ""]
            parts += ["```", text.rstrip(), "```"]
    return "\n".join(parts) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the doc is stale")
    parser.add_argument("--report", type=Path, help="also write the rollout example's JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        text = examples(Path(tmp), args.report)
    if args.check:
        if DOC.read_text() != text:
            sys.stderr.write(f"{DOC} is stale: run tools/triage_examples.py\n")
            return 1
        return 0
    DOC.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
