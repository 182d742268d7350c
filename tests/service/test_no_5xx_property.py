"""Property: whatever body arrives at /alertmanager, the answer is never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import AUTH, load_fixture, make_settings
from .live import post, service_in_thread

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def _mutations() -> st.SearchStrategy[Any]:
    base = load_fixture("high-error-rate-firing.json")
    alert_keys = list(base["alerts"][0])
    top = st.builds(
        lambda key, value: {**base, key: value}, st.sampled_from(list(base)), json_values
    )
    inner = st.builds(
        lambda key, value: {**base, "alerts": [{**base["alerts"][0], key: value}]},
        st.sampled_from(alert_keys),
        json_values,
    )
    return top | inner | json_values


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("property")
    with service_in_thread(make_settings(data_dir, max_body_bytes=4096)) as url:
        yield url


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_mutations())
def test_json_bodies_never_yield_5xx(live_url: str, body: Any) -> None:
    status, answer = post(f"{live_url}/alertmanager", json.dumps(body).encode(), AUTH)
    assert status < 500, answer
    if status >= 400:
        assert "error" in json.loads(answer)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.binary(max_size=6000),
    content_type=st.sampled_from(["application/json", "text/plain", ""]),
)
def test_raw_bytes_never_yield_5xx(live_url: str, raw: bytes, content_type: str) -> None:
    headers = {"Authorization": AUTH["Authorization"], "Content-Type": content_type}
    status, answer = post(f"{live_url}/alertmanager", raw, headers)
    assert status < 500, answer
    assert status in (400, 413, 415, 422)
