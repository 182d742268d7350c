"""Log excerpts: error lines and tracebacks, folded, counted, short, redacted."""

from __future__ import annotations

from bot.cluster.excerpt import MAX_LINE_CHARS, extract
from tests.fakes.kube_scenarios import TRACEBACK_LOG

CHAINED = """\
Traceback (most recent call last):
  File "/app/a.py", line 3, in load
    open(path)
FileNotFoundError: [Errno 2] No such file or directory: '/mnt/models/model.joblib'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/app/b.py", line 9, in <module>
    load()
RuntimeError: model could not be loaded
"""


def test_traceback_folds_to_exception_and_last_frame() -> None:
    found = extract(TRACEBACK_LOG)
    assert found.has_traceback
    assert found.lines[0] == (
        "KeyError: 'fixed_acidity' (traceback at File \"/app/model.py\", line 41, "
        "in <listcomp>: row = [instance[name] for name in self.features])"
    )
    # The timestamp is gone; the error line stays; INFO lines are dropped.
    assert found.lines[1] == "ERROR kserve: request 8f3a2c1e failed: KeyError 'fixed_acidity'"
    assert found.error_count == 2


def test_repeats_collapse_with_counts_even_when_numbers_differ() -> None:
    text = "".join(
        f"2026-11-24 19:00:{i:02d} ERROR request {i} failed: timeout\n" for i in range(40)
    )
    found = extract(text)
    assert found.lines == ("ERROR request 0 failed: timeout (x40)",)
    assert found.error_count == 40


def test_chained_tracebacks_are_both_kept() -> None:
    found = extract(CHAINED)
    assert [line.split(" (traceback")[0] for line in found.lines] == [
        "FileNotFoundError: [Errno 2] No such file or directory: '/mnt/models/model.joblib'",
        "RuntimeError: model could not be loaded",
    ]


def test_excerpt_is_short_and_keeps_tracebacks_first() -> None:
    noise = "".join(f"ERROR distinct problem {chr(65 + i % 26) * (i + 1)}\n" for i in range(60))
    # The traceback is the oldest item: only its rank keeps it among the five lines.
    found = extract(TRACEBACK_LOG + noise + "x" * 5000 + " ERROR\n", max_lines=5)
    assert len(found.lines) == 5
    assert found.lines[0].startswith("KeyError")
    assert found.lines[1:4] == tuple(
        f"ERROR distinct problem {chr(65 + i % 26) * (i + 1)}" for i in (57, 58, 59)
    )
    assert all(len(line) <= MAX_LINE_CHARS for line in found.lines)


def test_secrets_in_error_lines_are_redacted() -> None:
    found = extract("ERROR login failed for postgresql://bot:hunter2@db/x with password=hunter2\n")
    assert "hunter2" not in found.lines[0]


def test_quiet_log_has_nothing() -> None:
    found = extract("INFO ready\nINFO GET /healthz 200\n")
    assert found.lines == () and found.error_count == 0 and not found.has_traceback
