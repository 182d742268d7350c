"""A small async client of the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`).

Called by `promql.collector`; hands back `Series` (bot.model.signal_evidence). Every failure,
whether the network, a timeout, an HTTP error or a PromQL error, becomes one
`PrometheusError` whose message a person can read in a triage note.
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import datetime
from typing import Any

import aiohttp

from bot.model.signal_evidence import Series


class PrometheusError(Exception):
    """Prometheus could not answer a query; the message says why, for people."""


def _number(raw: Any) -> float:
    # Prometheus sends sample values as strings ("1.5", "NaN", "+Inf").
    try:
        return float(raw)
    except (TypeError, ValueError):
        return math.nan


def _series(data: dict[str, Any]) -> list[Series]:
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "matrix" and isinstance(result, list):
        return [
            Series(
                labels={str(k): str(v) for k, v in item.get("metric", {}).items()},
                points=tuple((float(t), _number(v)) for t, v in item.get("values", [])),
            )
            for item in result
        ]
    if kind == "vector" and isinstance(result, list):
        return [
            Series(
                labels={str(k): str(v) for k, v in item.get("metric", {}).items()},
                points=((float(item["value"][0]), _number(item["value"][1])),),
            )
            for item in result
        ]
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return [Series(labels={}, points=((float(result[0]), _number(result[1])),))]
    raise PrometheusError(f"Prometheus answered an unexpected result type {kind!r}")


class PrometheusClient:
    """Queries one Prometheus server over a session the caller owns and closes."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, *, timeout: float) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._timeout = timeout

    async def query(self, expr: str, at: datetime | None = None) -> list[Series]:
        """An instant query: each series with one point (a scalar has no labels)."""
        form = {"query": expr}
        if at is not None:
            form["time"] = f"{at.timestamp():.3f}"
        return await self._post("/api/v1/query", form)

    async def query_range(
        self, expr: str, start: datetime, end: datetime, step_seconds: float
    ) -> list[Series]:
        """A range query from `start` to `end`, one point every `step_seconds`."""
        if end <= start:
            raise PrometheusError("the query window is empty (end is not after start)")
        form = {
            "query": expr,
            "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": f"{max(step_seconds, 0.001):g}",
        }
        return await self._post("/api/v1/query_range", form)

    async def _post(self, path: str, form: dict[str, str]) -> list[Series]:
        # POST with a form body: long expressions do not hit URL length limits.
        url = self._base + path
        try:
            async with asyncio.timeout(self._timeout):
                async with self._session.post(url, data=form) as response:
                    text = await response.text()
                    status = response.status
        except TimeoutError:
            raise PrometheusError(
                f"Prometheus at {self._base}: no answer within {self._timeout:g} s"
            ) from None
        except aiohttp.ClientError as exc:
            raise PrometheusError(f"Prometheus at {self._base} unreachable: {exc}") from exc
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise PrometheusError(
                f"Prometheus at {self._base} answered HTTP {status} without a JSON body"
            )
        if body.get("status") != "success":
            kind = body.get("errorType", "error")
            raise PrometheusError(
                f"Prometheus rejected the query ({kind}, HTTP {status}): {body.get('error', '')}"
            )
        data = body.get("data")
        if not isinstance(data, dict):
            raise PrometheusError("Prometheus answered success without data")
        try:
            return _series(data)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise PrometheusError(f"Prometheus answered a malformed result: {exc!r}") from exc
