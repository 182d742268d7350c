"""Start-up faults, through the real program: `serve` exits within seconds with one line
naming the fault, and `check-config` fails the same way (so "configuration OK" means
`serve` starts). Each case is set up in the test's directory, the service's cwd."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.service.commands import run
from tests.service.live import free_port

# Generous for a loaded machine; a hang (the former failure) runs into the 60 s timeout.
EXIT_SECONDS = 20.0

Setup = Callable[[Path], dict[str, str]]


def _empty_kubeconfig(d: Path) -> dict[str, str]:
    (d / "kube.yaml").write_text("")
    return {"KUBECONFIG": "kube.yaml"}


def _malformed_kubeconfig(d: Path) -> dict[str, str]:
    (d / "kube.yaml").write_text("clusters: [\n")
    return {"KUBECONFIG": "kube.yaml"}


def _in_cluster_without_token(d: Path) -> dict[str, str]:
    return {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}


def _missing_reference(d: Path) -> dict[str, str]:
    (d / "bot.yaml").write_text(
        "drift:\n  models:\n    - {namespace: models, name: wine, reference: gone.csv}\n"
    )
    return {"CONFIG": "bot.yaml"}


def _data_dir_is_a_file(d: Path) -> dict[str, str]:
    (d / "state").write_text("not a directory")
    return {"TRIAGE_BOT_DATA_DIR": "state"}


def _data_dir_read_only(d: Path) -> dict[str, str]:
    # /sys is mounted read-only here, which holds for root too (chmod would not).
    return {"TRIAGE_BOT_DATA_DIR": "/sys/triage-bot"}


def _corrupt_store(d: Path) -> dict[str, str]:
    (d / "var").mkdir()
    (d / "var" / "triage-bot.sqlite3").write_bytes(b"this is not a database" * 100)
    return {}


def _slack_without_channel(d: Path) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": "xoxb-test"}


def _no_api_token(d: Path) -> dict[str, str]:
    return {"TRIAGE_BOT_API__PUBLIC": "false"}


def _bad_environment_value(d: Path) -> dict[str, str]:
    return {"TRIAGE_BOT_MAX_BODY_BYTES": "lots"}


# (setup, exit code, words the one line must hold)
CASES: dict[str, tuple[Setup, int, tuple[str, ...]]] = {
    "empty kubeconfig": (_empty_kubeconfig, 2, ("KUBECONFIG", "kube.yaml is empty")),
    "malformed kubeconfig": (_malformed_kubeconfig, 2, ("kubeconfig kube.yaml", "KUBECONFIG")),
    "in-cluster without token": (
        _in_cluster_without_token,
        2,
        ("in-cluster configuration", "token"),
    ),
    "missing reference": (_missing_reference, 2, ("models/wine", "gone.csv", "reference")),
    "data dir is a file": (_data_dir_is_a_file, 2, ("not a directory", "TRIAGE_BOT_DATA_DIR")),
    "data dir read-only": (_data_dir_read_only, 2, ("/sys/triage-bot", "TRIAGE_BOT_DATA_DIR")),
    "corrupt store": (_corrupt_store, 1, ("triage-bot.sqlite3", "not a SQLite database")),
    "slack token without channel": (
        _slack_without_channel,
        2,
        ("SLACK_BOT_TOKEN", "TRIAGE_BOT_SLACK_CHANNEL"),
    ),
    "no API token": (_no_api_token, 2, ("TRIAGE_BOT_API_TOKEN", "api.public")),
    "bad environment value": (
        _bad_environment_value,
        2,
        ("TRIAGE_BOT_MAX_BODY_BYTES", "valid integer"),
    ),
}


def _command(name: str, env: dict[str, str]) -> list[str]:
    config = env.pop("CONFIG", None)
    args = [name, *(["--config", config] if config else [])]
    return [*args, "--port", str(free_port())] if name == "serve" else args


@pytest.mark.parametrize("command", ["serve", "check-config"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_start_up_fault_ends_the_process_with_one_line(
    tmp_path: Path, case: str, command: str
) -> None:
    setup, code, words = CASES[case]
    env = setup(tmp_path)
    ran = run(_command(command, env), tmp_path, env)
    assert ran.code == code, ran.err
    assert ran.seconds < EXIT_SECONDS
    assert "Traceback" not in ran.err + ran.out
    errors = [line for line in ran.err_lines if " error " in line or line.startswith("triage-bot:")]
    assert len(errors) == 1, ran.err
    for word in words:
        assert word in errors[0], errors[0]
    if command == "check-config":
        assert "configuration OK" not in ran.out


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_taken_port_is_a_runtime_error_in_one_line(tmp_path: Path, taken_port: int) -> None:
    ran = run(["serve", "--port", str(taken_port)], tmp_path)
    assert ran.code == 1
    assert ran.seconds < EXIT_SECONDS
    assert "Traceback" not in ran.err
    assert f"cannot listen on 127.0.0.1:{taken_port}" in ran.err_lines[-1]
    assert "--port" in ran.err_lines[-1]
    # The store was opened before the port failed: it was closed (the WAL folded back).
    assert not (tmp_path / "var" / "triage-bot.sqlite3-wal").exists()
    with sqlite3.connect(tmp_path / "var" / "triage-bot.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM notifications").fetchone() == (0,)


def test_check_config_lists_every_integration_without_secrets(tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-very-secret",
        "SLACK_SIGNING_SECRET": "signing-very-secret",
        "TRIAGE_BOT_SLACK_CHANNEL": "#ml-alerts",
        "TRIAGE_BOT_API_TOKEN": "api-very-secret-and-long",
        "TRIAGE_BOT_PROMETHEUS_URL": "http://prometheus:9090",
        "TRIAGE_BOT_QUEUE_SIZE": "10",  # a setting no longer: said, not silently ignored
    }
    ran = run(["check-config"], tmp_path, env)
    assert ran.code == 0, ran.err
    assert ran.out.startswith("configuration OK (environment)")
    for line in (
        "prometheus: http://prometheus:9090",
        "alertmanager: off",
        "drift_models: no models",
        "api_token: set",
        "webhook_token: not set",
        "slack: bot token set, channel #ml-alerts",
        "slack_signing_secret: set",
        "cluster: off",
    ):
        assert f"  {line}" in ran.out, ran.out
    assert "  warning: TRIAGE_BOT_QUEUE_SIZE is not a setting and is ignored" in ran.out
    assert "very-secret" not in ran.out + ran.err
