"""The whole service with a monitored model: payload-logger events in, data-drift verdict out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from tests.drift.conftest import binary_headers

from .conftest import AUTH, AppFactory, load_fixture

NAMESPACE, NAME = "models", "wine-quality-model"


def _write_reference(path: Path, rows: np.ndarray) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["alcohol", "ph"])
        writer.writerows(rows.tolist())
    return path


async def test_drifted_inputs_make_a_data_drift_triage(service: AppFactory, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    reference = _write_reference(tmp_path / "ref.csv", rng.normal(0, 1, size=(2000, 2)))
    model = {"namespace": NAMESPACE, "name": NAME, "reference": str(reference)}
    client, console = await service(drift={"models": [model], "min_rows": 100})

    shifted = rng.normal(0, 1, size=(600, 2))
    shifted[:, 0] += 1.5  # alcohol moved, ph did not
    for i in range(0, 600, 100):
        body = {"instances": shifted[i : i + 100].tolist()}
        headers = binary_headers(f"req-{i}", name=NAME) | {"ce-namespace": NAMESPACE}
        response = await client.post("/ingest/kserve", data=json.dumps(body), headers=headers)
        assert response.status == 200, await response.text()
    evaluated = await client.post(f"/api/drift/{NAMESPACE}/{NAME}/evaluate")
    assert evaluated.status == 200, await evaluated.text()

    firing = load_fixture("high-error-rate-firing.json")
    assert (await client.post("/alertmanager", json=firing, headers=AUTH)).status == 200
    out = await console.wait_for("[FIRING]")
    assert "verdict: data-drift" in out
    assert "alcohol" in out
    metrics = await (await client.get("/metrics")).text()
    assert "triage_bot_drift" in metrics
