"""The log-pattern catalogue: each shipped pattern against a log line as servers write it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.sources import user_patterns
from bot.triage.log_patterns import CATALOGUE, match_line

# (log line, pattern expected to win, words its summary or action must carry)
LINES = [
    (
        '{"severity":"ERROR","logger":"queueproxy","message":"Failed to probe whole service",'
        '"error":"dial tcp 127.0.0.1:9000: connect: connection refused"}',
        "own-port-refused",
        "9000",
    ),
    (
        'Unable to fetch image "registry.example.com/ml/churn:2.4.1": failed to resolve image '
        "to digest: unexpected status code 404 Not Found",
        "image-fetch",
        "image",
    ),
    (
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.77 "
        "GiB total capacity; 13.90 GiB already allocated)",
        "cuda-oom",
        "GPU memory",
    ),
    ("RuntimeError: CUDA error: uncorrectable ECC error encountered", "gpu-error", "GPU"),
    (
        "RuntimeError: Failed to fetch model. No model found in s3://models/fraud/v12.",
        "storage-fetch",
        "storage",
    ),
    (
        "ValueError: X has 12 features, but RandomForestClassifier is expecting 13 features "
        "as input.",
        "feature-count",
        "do not roll back",
    ),
    ("KeyError: 'merchant_category_code'", "input-field", "merchant_category_code"),
    ("_pickle.UnpicklingError: pickle data was truncated", "model-load", "model file"),
    (
        'psycopg2.OperationalError: connection to server at "features-db.data.svc.cluster.local"'
        " (10.96.14.2), port 5432 failed: timeout expired",
        "dependency-timeout",
        "features-db.data.svc.cluster.local:5432",
    ),
    (
        "redis.exceptions.ConnectionError: Error 111 connecting to "
        "feast-redis.feature-store.svc.cluster.local:6379. Connection refused.",
        "dependency-refused",
        "feast-redis.feature-store.svc.cluster.local:6379",
    ),
    (
        "requests.exceptions.ConnectionError: HTTPConnectionPool(host='feast.svc', port=6566): "
        "Max retries exceeded with url: /get-online-features (Caused by "
        "NewConnectionError('Failed to establish a new connection: [Errno 111] Connection "
        "refused'))",
        "dependency-refused",
        "feast.svc:6566",
    ),
    (
        "dial tcp: lookup redis-master.cache.svc.cluster.local on 10.96.0.10:53: no such host",
        "dependency-dns",
        "redis-master.cache.svc.cluster.local",
    ),
    (
        "redis.exceptions.ConnectionError: Error while reading from socket: (104, 'Connection "
        "reset by peer')",
        "dependency-generic",
        "dependency",
    ),
    (
        "numpy.core._exceptions._ArrayMemoryError: MemoryError: Unable to allocate 3.2 GiB",
        "process-oom",
        "memory",
    ),
    ("KeyError: 'MODEL_BUCKET'", "config-env", "configuration"),
    (
        'psycopg2.OperationalError: connection to server at "pg.data.svc" (10.96.1.4), port 5432'
        ' failed: FATAL:  password authentication failed for user "ranker"',
        "dependency-auth",
        "pg.data.svc:5432",
    ),
    (
        "ltv_server.py: error: unrecognized arguments: --db-password-file",
        "config-env",
        "configuration",
    ),
    (
        "requests.exceptions.SSLError: HTTPSConnectionPool(host='features.internal', port=443):"
        " [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired",
        "tls",
        "certificate",
    ),
    ("OSError: [Errno 28] No space left on device: '/mnt/models/model.bin'", "disk-full", "disk"),
    (
        'kubernetes.client.exceptions.ApiException: (403) configmaps "features" is forbidden: '
        'User "system:serviceaccount:models:default" cannot get resource "configmaps"',
        "rbac",
        "RBAC",
    ),
    ("exec /usr/bin/python3: exec format error", "exec-format", "architecture"),
    (
        "E1102 05:09:02.530911 1 model_lifecycle.cc:630] failed to load 'resnet50' version 1: "
        "Invalid argument: unexpected inference output 'fc1000'",
        "model-load",
        "model file",
    ),
    (
        "ValueError: The model's max seq len (32768) is larger than the maximum number of tokens"
        " that can be stored in KV cache (21344).",
        "cuda-oom",
        "GPU memory",
    ),
    (
        "OSError: We couldn't connect to 'https://huggingface.co' to load this file",
        "storage-fetch",
        "storage",
    ),
    (
        "AttributeError: 'NoneType' object has no attribute 'predict_proba'",
        "code-error",
        "code",
    ),
]


@pytest.mark.parametrize(("line", "name", "word"), LINES, ids=[n for _, n, _ in LINES])
def test_each_pattern_names_its_cause(line: str, name: str, word: str) -> None:
    found = match_line(line)
    assert found is not None, line
    known, match = found
    assert known.name == name
    summary, action = known.describe(match)
    assert word.lower() in f"{summary} {action}".lower()


def test_every_shipped_pattern_has_a_line() -> None:
    assert {p.name for p in CATALOGUE} == {name for _, name, _ in LINES}


@pytest.mark.parametrize(
    "line",
    [
        "INFO kserve: Registering model: fraud-model",
        'INFO:     10.244.3.7:0 - "POST /v1/models/fraud-model:predict HTTP/1.1" 200 OK',
        "2026-11-20 09:53:01 uvicorn.error INFO: Uvicorn running on http://0.0.0.0:8080",
        "DEBUG tokenizer loaded in 0.4 s, 32000 tokens",
    ],
)
def test_ordinary_lines_match_nothing(line: str) -> None:
    assert match_line(line) is None


def test_user_patterns_come_first_and_bad_ones_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "triage-bot.yaml"
    config.write_text(
        "diagnosis:\n"
        "  log_patterns:\n"
        "    - name: vendor-quota\n"
        "      pattern: 'quota exceeded for project (?P<endpoint>[\\w-]+)'\n"
        "      cause: dependency\n"
        "      summary: 'The vendor API quota is exhausted ({endpoint})'\n"
        "      action: Raise the quota or slow the callers.\n"
    )
    patterns = user_patterns(load_settings(config).diagnosis) + CATALOGUE
    found = match_line("ERROR quota exceeded for project acme-ml: connection refused", patterns)
    assert found is not None and found[0].name == "vendor-quota"
    assert found[0].describe(found[1])[0] == "The vendor API quota is exhausted (acme-ml)"
    config.write_text(
        "diagnosis:\n  log_patterns:\n    - {name: x, pattern: '(', cause: oom, summary: s,"
        " action: a}\n"
    )
    with pytest.raises(ConfigError, match="pattern"):
        load_settings(config)
