"""docs/triage-examples.md is what `triage-bot triage` prints for its corpus cases today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_examples_in_the_docs_are_what_the_cli_prints() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "triage_examples.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
