"""tools/slack_preview.py, the developer tool that draws a triage's Slack message: in
process, and through the real program given bad input (one line, status 2, no traceback)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.slack.limits import violations
from tests.service.commands import run
from tests.slack.reports import isvc, logs, pods, report
from tools.slack_preview import main, plain

MODULE = "tools.slack_preview"
FIXTURES = Path(__file__).parent.parent / "fixtures"
WEBHOOK = "webhook.json"
EXIT_SECONDS = 20.0


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A directory holding a webhook body and a file that is not JSON."""
    shutil.copy(FIXTURES / "high-error-rate-firing.json", tmp_path / WEBHOOK)
    (tmp_path / "not.json").write_text("{not json")
    return tmp_path


def test_preview_draws_a_png_and_writes_the_block_kit(tmp_path: Path) -> None:
    assert plain("*Pods* <http://x|Graph> &lt;b&gt; <@U1> 🔴") == "Pods Graph <b> @U1 ●"
    source = tmp_path / "report.json"
    source.write_text(json.dumps(report(isvc(), pods(), logs()).to_dict()))
    assert main([str(source), str(tmp_path / "out.png")]) == 0
    assert (tmp_path / "out.png").read_bytes().startswith(b"\x89PNG")
    message = json.loads((tmp_path / "out.json").read_text())
    assert message["blocks"][0]["type"] == "header" and violations(message) == []
    assert main([]) == 2


# (argv, words the one stderr line must hold); each exits 2
BAD: list[tuple[list[str], tuple[str, ...]]] = [
    ([], ("required",)),
    (["missing.json", "out.png"], ("cannot read missing.json",)),
    (["not.json", "out.png"], ("not.json is not JSON",)),
    ([WEBHOOK, "out.png"], ("Alertmanager webhook, not a triage report", "triage-bot triage")),
]


@pytest.mark.parametrize(("argv", "words"), BAD)
def test_bad_input_gets_one_line_and_no_traceback(
    workdir: Path, argv: list[str], words: tuple[str, ...]
) -> None:
    ran = run(argv, workdir, module=MODULE)
    assert ran.code == 2, ran.err
    assert ran.seconds < EXIT_SECONDS
    message = ran.message()
    for word in words:
        assert word in message, message


def test_help_exits_zero(workdir: Path) -> None:
    ran = run(["--help"], workdir, module=MODULE)
    assert ran.code == 0, ran.err
    assert ran.out.strip() and not ran.err


def test_preview_never_overwrites_its_input_and_says_what_it_wrote(workdir: Path) -> None:
    made = run(["triage", WEBHOOK, "--json"], workdir)
    assert made.code == 0, made.err
    report = workdir / "r.json"
    report.write_text(made.out)
    # r.png's Block Kit would go to r.json: the input. Refused, the input untouched.
    refused = run(["r.json", "r.png"], workdir, module=MODULE)
    assert refused.code == 2
    assert "would overwrite the input report r.json" in refused.err
    assert report.read_text() == made.out
    assert not (workdir / "r.png").exists()
    wrote = run(["r.json", "r.png", "--blocks", "blocks.json"], workdir, module=MODULE)
    assert wrote.code == 0, wrote.err
    assert wrote.out.strip() == "wrote r.png and blocks.json"
    assert (workdir / "r.png").read_bytes().startswith(b"\x89PNG")
    assert json.loads((workdir / "blocks.json").read_text())["blocks"]
    assert report.read_text() == made.out
