"""Secrets never leave the process: a table of log lines and what must remain of them."""

from __future__ import annotations

import pytest

from bot.redaction import redact

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)

CASES = [
    # (log line, secret that must vanish, text that must stay)
    (
        "Authorization: Bearer abcdef123456.xyz",
        "abcdef123456.xyz",
        "Authorization: Bearer [REDACTED]",
    ),
    ("auth header basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==", "basic [REDACTED]"),
    (f"token accepted: {JWT}", JWT, "[REDACTED JWT]"),
    (
        "db=postgresql://svc:hunter2@feast-db:5432/features",
        "hunter2",
        "postgresql://svc:[REDACTED]@feast-db",
    ),
    ("redis://:s3cr3tpw@cache:6379/0", "s3cr3tpw", "redis://:[REDACTED]@cache"),
    ("mongodb+srv://admin:Pa55w0rd!@cluster0.example.net/db", "Pa55w0rd!", "admin:[REDACTED]@"),
    ("password=hunter2 user=bob", "hunter2", "user=bob"),
    ("PASSWORD: 'correct horse'", "correct horse", "PASSWORD: '[REDACTED]'"),
    ('{"api_key": "abc123def456", "model": "wine"}', "abc123def456", '"model": "wine"'),
    ("client_secret=shhh&grant_type=client_credentials", "shhh", "grant_type=client_credentials"),
    ("GET /v1/models?token=tok_9f8e7d6c&user=1", "tok_9f8e7d6c", "user=1"),
    (
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI",
        "AWS_SECRET_ACCESS_KEY=",
    ),
    ("using key AKIAIOSFODNN7EXAMPLE for s3", "AKIAIOSFODNN7EXAMPLE", "for s3"),
    ("slack xoxb-123456789012-abcdefghijkl", "xoxb-123456789012-abcdefghijkl", "slack [REDACTED]"),
    (
        "gh token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "gh ",
    ),
    ("openai sk-proj-abcdefghijklmnop1234", "sk-proj-abcdefghijklmnop1234", "openai [REDACTED]"),
    (
        "google AIzaSyA1234567890abcdefghijklmnopqrstu",
        "AIzaSyA1234567890abcdefghijklmnopqrstu",
        "google",
    ),
    (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=bXlrZXk=;EndpointSuffix=x",
        "bXlrZXk=",
        "AccountName=acct",
    ),
    ("Server=db;Database=wine;User Id=sa;Password=Str0ng!;", "Str0ng!", "Database=wine"),
    ("private_key: abcdef", "abcdef", "private_key: [REDACTED]"),
    ("X-Api-Key: 0123456789abcdef", "0123456789abcdef", "X-Api-Key: [REDACTED]"),
]


@pytest.mark.parametrize(("line", "secret", "kept"), CASES)
def test_secret_is_redacted_and_context_kept(line: str, secret: str, kept: str) -> None:
    out = redact(line)
    assert secret not in out
    assert kept in out


def test_private_key_block_is_removed_whole() -> None:
    text = (
        "loading\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAKCAQ\n-----END RSA PRIVATE KEY-----\nok"
    )
    out = redact(text)
    assert "MIIEow" not in out and "AKCAQ" not in out
    assert out.startswith("loading\n[REDACTED PRIVATE KEY]") and out.endswith("ok")


@pytest.mark.parametrize(
    "line",
    [
        "KeyError: 'fixed_acidity'",
        "max_tokens=512 batch=8",
        "tokenizer=bert-base loaded",
        "Traceback (most recent call last):",
        "GET /v1/models/wine:predict 500",
        "3 passed, 1 failed",
    ],
)
def test_ordinary_lines_are_untouched(line: str) -> None:
    assert redact(line) == line


def test_redaction_is_idempotent() -> None:
    once = redact("password=x token: y Bearer zzzzzzzzz")
    assert redact(once) == once
