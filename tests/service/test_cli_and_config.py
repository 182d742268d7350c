"""The command line and the configuration, as a person runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings

FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_check_config_accepts_a_valid_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bot.yaml"
    config.write_text(
        "queue_memory_mib: 10\ncollectors:\n  budget_seconds: 4\napi:\n  public: true\n"
    )
    assert main(["check-config", "--config", str(config)]) == 0
    assert "configuration OK" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("queue_memory_mib: lots\n", "queue_memory_mib"),
        ("collectors:\n  budget_seconds: -1\n", "collectors.budget_seconds"),
        ("no_such_key: 1\n", "no_such_key"),
        ("prometheus_url: prometheus:9090\n", "prometheus_url"),
        ("- a\n- b\n", "mapping"),
        ("queue_memory_mib: [\n", "not valid YAML"),
    ],
)
def test_check_config_names_the_bad_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, named: str
) -> None:
    config = tmp_path / "bot.yaml"
    config.write_text(text)
    assert main(["check-config", "--config", str(config)]) == 2
    assert named in capsys.readouterr().err


def test_missing_config_file_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--config", "/nonexistent/bot.yaml"]) == 2
    assert "cannot read config file" in capsys.readouterr().err


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "bot.yaml"
    config.write_text("queue_memory_mib: 10\nslack_allowed_users: [U1]\n")
    monkeypatch.setenv("TRIAGE_BOT_QUEUE_MEMORY_MIB", "20")
    monkeypatch.setenv("TRIAGE_BOT_SLACK_ALLOWED_USERS", "U7, U8")
    (tmp_path / "a.yaml").write_text("")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path}/a.yaml:{tmp_path}/b.yaml")
    settings = load_settings(config)
    assert settings.queue_memory_mib == 20
    assert settings.slack_allowed_users == ["U7", "U8"]
    assert settings.kubeconfig == tmp_path / "a.yaml"


def test_invalid_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_BOT_MAX_BODY_BYTES", "0")
    with pytest.raises(
        ConfigError, match="TRIAGE_BOT_MAX_BODY_BYTES: Input should be greater than 0$"
    ):
        load_settings()


def test_serve_refuses_invalid_config_before_listening(tmp_path: Path) -> None:
    config = tmp_path / "bot.yaml"
    config.write_text("log_format: xml\n")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--config", str(config), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "log_format" in done.stderr


def test_offline_triage_prints_for_a_person(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["triage", str(FIXTURES / "high-error-rate-firing.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[FIRING] critical HighErrorRate on models/wine-quality-model")
    assert "verdict:" in out


def test_offline_triage_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["triage", str(FIXTURES / "high-error-rate-resolved.json"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "resolved"
    assert data["target"]["inference_service"] == "wine-quality-model"
    assert data["alerts"][0]["ends_at"].startswith("2026-11-24T19:01:16")
    # No cluster, no Prometheus, no drift: nothing to go on, and the verdict says so.
    assert data["verdict"]["category"] == "unknown"
    assert data["results"] == []


def test_offline_triage_rejects_a_bad_payload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "4", "status": "firing"}')
    assert main(["triage", str(bad)]) == 2
    assert "groupKey" in capsys.readouterr().err
    assert main(["triage", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_missing_kubeconfig_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = str(FIXTURES / "high-error-rate-firing.json")
    assert main(["triage", payload, "--kubeconfig", str(tmp_path / "nope")]) == 2
    assert "kubeconfig" in capsys.readouterr().err
