"""Run the real command line in a subprocess and time it, as a user or a pod would.

The environment says `api.public` (no API token to manage on loopback) unless a test
sets otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent
BASE_ENV = {"PYTHONPATH": str(ROOT), "TRIAGE_BOT_API__PUBLIC": "true"}


@dataclass(frozen=True)
class Ran:
    """What a finished command left: status, output and how long it took."""

    code: int
    out: str
    err: str
    seconds: float

    @property
    def err_lines(self) -> list[str]:
        """stderr's non-empty lines."""
        return [line for line in self.err.splitlines() if line.strip()]

    def message(self) -> str:
        """The one line a refused command printed, argparse's usage above it set aside;
        an `AssertionError` when it printed a traceback or more than one line."""
        assert "Traceback" not in self.out + self.err, self.err
        lines = [line for line in self.err_lines if not line.startswith(("usage:", " "))]
        assert len(lines) == 1, self.err
        return lines[0]


def run(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    module: str = "bot",
    timeout: float = 60.0,
) -> Ran:
    """`python -m MODULE ARGS` in `cwd` with extra environment variables."""
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env={**os.environ, **BASE_ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Ran(done.returncode, done.stdout, done.stderr, time.monotonic() - began)
