"""Every documented command and module entry point, given bad input, through the real
program: the exit status, a one-line message that names the problem, no traceback, and
a prompt exit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.service.commands import run

FIXTURES = Path(__file__).parent.parent / "fixtures"
WEBHOOK = "webhook.json"
EXIT_SECONDS = 20.0


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A directory holding good and bad inputs by name."""
    shutil.copy(FIXTURES / "high-error-rate-firing.json", tmp_path / WEBHOOK)
    (tmp_path / "garbage.yaml").write_text("clusters: [\n  - {name: x\n")
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    (tmp_path / "extra.yaml").write_text("queue_sise: 3\n")
    (tmp_path / "not.json").write_text("{not json")
    (tmp_path / "ref.csv").write_text("a,b\n1,2\n3,4\n")
    (tmp_path / "text.csv").write_text("a,b\nx,y\n")
    return tmp_path


# (module, argv, exit status, words the one stderr line must hold)
CASES: list[tuple[str, list[str], int, tuple[str, ...]]] = [
    ("bot", [], 2, ("required: command",)),
    ("bot", ["frobnicate"], 2, ("invalid choice",)),
    ("bot", ["serve", "--port", "99999"], 2, ("--port", "not a port")),
    ("bot", ["serve", "--config", "missing.yaml"], 2, ("cannot read config file missing.yaml",)),
    ("bot", ["serve", "--config", "garbage.yaml"], 2, ("garbage.yaml is not valid YAML",)),
    ("bot", ["check-config", "--config", "list.yaml"], 2, ("must hold a mapping",)),
    ("bot", ["check-config", "--config", "extra.yaml"], 2, ("queue_sise", "not permitted")),
    ("bot", ["triage", "missing.json"], 2, ("cannot read missing.json",)),
    ("bot", ["triage", "not.json"], 2, ("not.json", "webhook")),
    ("bot", ["triage", "ref.csv"], 2, ("ref.csv",)),
    ("bot", ["triage", WEBHOOK, "--kubeconfig", "garbage.yaml"], 2, ("--kubeconfig", "garbage")),
    ("bot", ["triage", WEBHOOK, "--kubeconfig", "empty.yaml"], 2, ("--kubeconfig", "empty")),
    ("bot", ["triage", WEBHOOK, "--kubeconfig", "missing.yaml"], 2, ("--kubeconfig", "missing")),
    ("bot", ["triage", WEBHOOK, "--config", "extra.yaml"], 2, ("queue_sise",)),
    ("bot", ["triage", WEBHOOK, "--prometheus-url", "ftp://x"], 2, ("prometheus_url", "http://")),
    ("bot", ["export-case", "g", "--data-dir", "nowhere"], 2, ("no store at nowhere",)),
    ("bot", ["export-case"], 2, ("required: group",)),
    ("bot", ["drift", "missing.csv", "ref.csv"], 2, ("missing.csv",)),
    ("bot", ["drift", "ref.csv", "text.csv"], 2, ("text.csv",)),
    ("bot", ["drift", "ref.csv", "ref.csv", "--alpha", "high"], 2, ("--alpha",)),
]


@pytest.mark.parametrize(("module", "argv", "code", "words"), CASES)
def test_bad_input_gets_one_line_and_no_traceback(
    workdir: Path, module: str, argv: list[str], code: int, words: tuple[str, ...]
) -> None:
    ran = run(argv, workdir, module=module)
    assert ran.code == code, ran.err
    assert ran.seconds < EXIT_SECONDS
    message = ran.message()
    for word in words:
        assert word in message, message


@pytest.mark.parametrize(
    ("module", "argv"),
    [
        ("bot", ["--help"]),
        ("bot", ["--version"]),
        ("bot", ["serve", "--help"]),
        ("bot", ["triage", "--help"]),
        ("bot", ["drift", "--help"]),
        ("bot", ["check-config", "--help"]),
        ("bot", ["export-case", "--help"]),
    ],
)
def test_help_exits_zero(workdir: Path, module: str, argv: list[str]) -> None:
    ran = run(argv, workdir, module=module)
    assert ran.code == 0, ran.err
    assert ran.out.strip() and not ran.err
