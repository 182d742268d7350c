"""The redaction corpus: secret shapes that must vanish, ordinary lines that must not change.

Each secret row is (line, the secret that must vanish, text that must stay). The secrets are
made up but shaped like the real thing; each shape was seen leaking from a triage.
"""

from __future__ import annotations

import pytest

from bot.redaction import redact

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
SLACK_HOOK = "hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx"

SECRETS = [
    # (line, secret that must vanish, text that must stay)
    # Token formats, recognised wherever they appear.
    ("HF_HUB login with hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345", "hf_AbCdEfGhIjKlMnOpQrSt", "HF_HUB"),
    ("stripe key sk_live_51HxYzAbCdEfGhIjKl", "sk_live_51HxYzAbCdEfGhIjKl", "stripe key"),
    ("test key sk_test_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc", "test key"),
    ("restricted rk_live_0123456789abcdefABCD", "rk_live_0123456789abcdefABCD", "restricted"),
    ("cloning with github_pat_11ABCDEFG0123456789_abcdefghijkl", "github_pat_11ABCDEFG", "cloning"),
    ("gh token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdefghijklmnop", "gh token"),
    ("gitlab glpat-xYz0123456789AbCdEfGh", "glpat-xYz0123456789AbCdEfGh", "gitlab"),
    ("npm publish npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "npm_AbCdEfGhIjKl", "npm publish"),
    ("openai sk-proj-abcdefghijklmnop1234", "sk-proj-abcdefghijklmnop1234", "openai [REDACTED]"),
    ("anthropic sk-ant-api03-AbCdEfGhIjKlMnOp-0123", "sk-ant-api03-AbCdEfGh", "anthropic"),
    ("slack xoxb-123456789012-abcdefghijkl", "xoxb-123456789012-abcdefghijkl", "slack [REDACTED]"),
    ("using key AKIAIOSFODNN7EXAMPLE for s3", "AKIAIOSFODNN7EXAMPLE", "for s3"),
    ("google AIzaSyA1234567890abcdefghijklmnopqrstu", "AIzaSyA1234567890abcdefgh", "google"),
    ("gcloud ya29.a0AfH6SMBx0123456789abcdefghij", "ya29.a0AfH6SMBx0123456789", "gcloud"),
    (f"token accepted: {JWT}", JWT, "[REDACTED JWT]"),
    (
        f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----",
        PEM_BODY,
        "[REDACTED PRIVATE KEY]",
    ),
    (
        f'{{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\n{PEM_BODY}'
        '\\n-----END PRIVATE KEY-----\\n", "client_email": "sa@proj.iam.example"}',
        PEM_BODY,
        '"client_email": "sa@proj.iam.example"',
    ),
    # Webhook URLs keep the host, lose the path that is the credential.
    (f"posting to https://{SLACK_HOOK}", "abcdefghijklmnopqrstuvwx", "hooks.slack.com/services/"),
    # URLs: user and host stay; the password goes, even when it holds an @.
    (
        "db=postgresql://svc:hunter2@feast-db:5432/f",
        "hunter2",
        "postgresql://svc:[REDACTED]@feast-db",
    ),
    ("dsn mysql://app:p@ss@w0rd@mysql:3306/db", "ss@w0rd", "mysql://app:[REDACTED]@mysql:3306/db"),
    ("redis://:s3cr3tpw@cache:6379/0", "s3cr3tpw", "redis://:[REDACTED]@cache"),
    ("mongodb+srv://admin:Pa55w0rd!@cluster0.example.net/db", "Pa55w0rd!", "admin:[REDACTED]@"),
    # Headers: any Authorization scheme, API key headers, basic auth, cookies.
    ("Authorization: Bearer abcdef123456.xyz", "abcdef123456.xyz", "Authorization: Bearer"),
    ("Authorization: ApiKey a1b2c3d4e5f6", "a1b2c3d4e5f6", "Authorization: ApiKey [REDACTED]"),
    ("authorization=Token 9f8e7d6c5b4a", "9f8e7d6c5b4a", "authorization=Token [REDACTED]"),
    ('headers={"Authorization": "Basic dXNlcjpwYXNz"}', "dXNlcjpwYXNz", '"Authorization": "Basic'),
    ("auth header basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==", "basic [REDACTED]"),
    ("X-Api-Key: 0123456789abcdef", "0123456789abcdef", "X-Api-Key: [REDACTED]"),
    ("Cookie: session=4f9a8b7c6d5e; theme=dark", "4f9a8b7c6d5e", "Cookie: [REDACTED]"),
    # Environment pairs: Kubernetes JSON, YAML, kubectl describe, shell.
    (
        '{"name": "HF_TOKEN", "value": "hfvalue0123abc"}',
        "hfvalue0123abc",
        '"name": "HF_TOKEN", "value": "[REDACTED]"',
    ),
    (
        "env:\n- name: DB_PASSWORD\n  value: s3cretDbPw\n- name: LOG_LEVEL",
        "s3cretDbPw",
        "LOG_LEVEL",
    ),
    (
        "Environment:\n      DB_PASSWORD:  kubectlPw99\n      PORT: 8080",
        "kubectlPw99",
        "PORT: 8080",
    ),
    ("MYSQL_ROOT_PASSWORD rootpw123", "rootpw123", "MYSQL_ROOT_PASSWORD [REDACTED]"),
    ("export OPENAI_API_KEY=abcdef0123", "abcdef0123", "export OPENAI_API_KEY="),
    ("STORAGE_ACCOUNT_KEY: Zm9vYmFyYmF6", "Zm9vYmFyYmF6", "STORAGE_ACCOUNT_KEY: [REDACTED]"),
    # Key = value in configs, JSON, escaped JSON, URL queries, URL-encoded forms.
    ("password=hunter2 user=bob", "hunter2", "user=bob"),
    ("PASSWORD: 'correct horse'", "correct horse", "PASSWORD: '[REDACTED]'"),
    ('{"api_key": "abc123def456", "model": "wine"}', "abc123def456", '"model": "wine"'),
    ('msg="{\\"password\\": \\"escPw42\\", \\"user\\": \\"bob\\"}"', "escPw42", '\\"user\\"'),
    ("client_secret=shhh123&grant_type=client_credentials", "shhh123", "grant_type=client"),
    ("body=client_secret%3Dencoded42%26grant_type%3Dx", "encoded42", "%26grant_type%3Dx"),
    ("form password%3Dpct%2Bpw%26user%3Dbob", "pct%2Bpw", "%26user%3Dbob"),
    ("GET /v1/models?token=tok_9f8e7d6c&user=1", "tok_9f8e7d6c", "user=1"),
    ("spec: {dbPassword: camelPw7}", "camelPw7", "dbPassword: [REDACTED]"),
    ("private_key: abcdef", "abcdef", "private_key: [REDACTED]"),
    # Cloud credentials.
    (f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}", "wJalrXUtnFEMI", "AWS_SECRET_ACCESS_KEY="),
    (f"aws_secret_access_key {AWS_SECRET}", "wJalrXUtnFEMI", "aws_secret_access_key"),
    (
        "blob https://acct.blob.example/c/m.pt?sv=2022-11-02&se=2026&sig=AbC%2BdEf%3D&sp=r",
        "AbC%2BdEf",
        "sv=2022-11-02&se=2026&sig=[REDACTED]&sp=r",
    ),
    (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=bXlrZXk=;EndpointSuffix=x",
        "bXlrZXk=",
        "AccountName=acct",
    ),
    ("Server=db;Database=wine;User Id=sa;Password=Str0ng!;", "Str0ng!", "Database=wine"),
    # Kubeconfig and Docker config.
    ("users:\n- name: bot\n  user:\n    token: kubeTok0123abcd", "kubeTok0123abcd", "name: bot"),
    ("    client-key-data: LS0tLS1CRUdJTiBSU0E=", "LS0tLS1CRUdJTiBSU0E=", "client-key-data:"),
    (
        '{"auths": {"registry.example": {"auth": "dXNlcjpzM2NyM3Q="}}}',
        "dXNlcjpzM2NyM3Q=",
        '"registry.example"',
    ),
    # Command lines (Job args, events quoting a container's command).
    ("python train.py --password trainPw1 --epochs 3", "trainPw1", "--epochs 3"),
    ("python train.py --password=trainPw2 --epochs 3", "trainPw2", "--epochs 3"),
    ("cli --api-key abc999 --token=tkn777 --secret 'two words'", "abc999", "--api-key [REDACTED]"),
    ("cli --token=tkn777 --db-secret s3c", "tkn777", "--db-secret [REDACTED]"),
    # Prose.
    ("the password was hunter2, try again", "hunter2", "the password was [REDACTED]"),
    ("api key is k3yk3yk3y", "k3yk3yk3y", "api key is [REDACTED]"),
]

BENIGN = [
    "2026-11-24T18:53:10.020Z INFO request 7f3c2a1e-9b8d-4c6f-a1b2-3c4d5e6f7a8b done in 12 ms",
    "KeyError: 'fixed_acidity'",
    "max_tokens=512 batch=8",
    "token count=5",
    "token count=50 prompt_tokens=12",
    "tokenizer=bert-base loaded",
    "Loading tokenizer from /mnt/models/tokenizer.json",
    "Traceback (most recent call last):",
    "GET /v1/models/wine:predict 500",
    "3 passed, 1 failed",
    "image ghcr.io/acme/wine@sha256:"
    + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "revision wine-predictor-00003 created, previous wine-predictor-00002",
    "connecting to feast-db:5432 (attempt 3)",
    "connection refused: dial tcp 10.0.3.7:6379",
    "x-request-id: 0c9e6a2b4d8f1e3a",
    "Failed to pull image: failed to fetch anonymous token: unexpected status: 401",
    'Error: secret "db-creds" not found',
    'MountVolume.SetUp failed for volume "kube-api-access-x2" : secret "token-x2" not found',
    "password is incorrect for user bob",
    "You need to specify one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD",
    "auth: enabled",
    "Basic authentication required",
    "bypass: true, compass: north",
    "secretName: db-creds",
    "git@github.example:acme/models.git",
    "http://prom:9090/graph?g0.expr=rate(request_error_count[5m])",
    "OOMKilled: container wine exceeded memory limit 2Gi",
    "Back-off restarting failed container kserve-container in pod wine-predictor-7d9f-x",
    "http://user@host:8080/path",
    "PRIMARY KEY (id)",
    # Python source lines that tracebacks quote.
    "    def __init__(self, token: str, api_key: str | None = None) -> None:",
    "    expected = APP_TOKEN if method == 'apps.connections.open' else BOT_TOKEN",
    "docs: set `password=` in the config, never `token:` on the command line",
]


@pytest.mark.parametrize(("line", "secret", "kept"), SECRETS)
def test_secret_is_redacted_and_context_kept(line: str, secret: str, kept: str) -> None:
    out = redact(line)
    assert secret not in out
    assert kept in out


@pytest.mark.parametrize("line", BENIGN)
def test_ordinary_lines_are_untouched(line: str) -> None:
    assert redact(line) == line


def test_the_corpus_is_as_large_as_promised() -> None:
    assert len(SECRETS) >= 40 and len(BENIGN) >= 20


@pytest.mark.parametrize(("line", "secret", "kept"), SECRETS)
def test_redaction_is_idempotent(line: str, secret: str, kept: str) -> None:
    once = redact(line)
    assert redact(once) == once


def test_whole_log_tail_is_redacted_at_once() -> None:
    tail = "\n".join(line for line, _, _ in SECRETS) + "\n" + "\n".join(BENIGN)
    out = redact(tail)
    assert all(secret not in out for _, secret, _ in SECRETS)
    assert all(line in out for line in BENIGN)


def test_private_key_block_is_removed_whole() -> None:
    text = (
        "loading\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAKCAQ\n-----END RSA PRIVATE KEY-----\nok"
    )
    out = redact(text)
    assert "MIIEow" not in out and "AKCAQ" not in out
    assert out == "loading\n[REDACTED PRIVATE KEY]\nok"
