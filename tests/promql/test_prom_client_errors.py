"""How the Prometheus client reports servers that misbehave: slow, gone, not Prometheus."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web

from bot.promql import PrometheusClient, PrometheusError
from tests.fakes.servers import free_port, serving

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def _serve(handler: Handler) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/api/v1/query", handler)
    async with serving(app) as url:
        yield url


async def _query(handler: Handler, timeout: float = 2.0) -> None:
    async with _serve(handler) as url, aiohttp.ClientSession() as session:
        await PrometheusClient(session, url, timeout=timeout).query("up")


async def test_slow_server_is_a_timeout_error() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.json_response({})

    with pytest.raises(PrometheusError, match=r"no answer within 0.2 s"):
        await _query(slow, timeout=0.2)


async def test_unreachable_server_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with aiohttp.ClientSession() as session:
        client = PrometheusClient(session, url, timeout=2)
        with pytest.raises(PrometheusError, match=rf"Prometheus at {url} unreachable"):
            await client.query("up")


async def test_proxy_error_page_is_not_json() -> None:
    async def gateway(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")

    with pytest.raises(PrometheusError, match=r"HTTP 502 without a JSON body"):
        await _query(gateway)


async def test_overloaded_prometheus_error_is_passed_on() -> None:
    async def busy(request: web.Request) -> web.Response:
        body = {"status": "error", "errorType": "timeout", "error": "query timed out"}
        return web.json_response(body, status=503)

    with pytest.raises(PrometheusError, match=r"\(timeout, HTTP 503\): query timed out"):
        await _query(busy)


async def test_malformed_result_is_an_error() -> None:
    async def odd(request: web.Request) -> web.Response:
        body = {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}}
        return web.json_response(body)

    with pytest.raises(PrometheusError, match="malformed result"):
        await _query(odd)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"resultType": "scalar", "result": [1700000000.5, "2"]}, [({}, [(1700000000.5, 2.0)])]),
        (
            {"resultType": "vector", "result": [{"metric": {"a": "b"}, "value": [1, "NaN"]}]},
            [({"a": "b"}, [(1.0, "nan")])],
        ),
        (
            {"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "+Inf"], [2, "3"]]}]},
            [({}, [(1.0, float("inf")), (2.0, 3.0)])],
        ),
    ],
)
async def test_result_types(data: dict[str, object], expected: list[object]) -> None:
    async def answer(request: web.Request) -> web.Response:
        form = await request.post()
        assert form["query"] == "up"
        return web.json_response({"status": "success", "data": data})

    async with _serve(answer) as url, aiohttp.ClientSession() as session:
        series = await PrometheusClient(session, url, timeout=2).query("up")
    got = [(s.labels, [(t, "nan" if v != v else v) for t, v in s.points]) for s in series]
    assert got == expected


async def test_empty_range_is_refused_before_asking() -> None:
    now = datetime.now(UTC)
    async with aiohttp.ClientSession() as session:
        client = PrometheusClient(session, "http://127.0.0.1:1", timeout=1)
        with pytest.raises(PrometheusError, match="window is empty"):
            await client.query_range("up", now, now, 1)
