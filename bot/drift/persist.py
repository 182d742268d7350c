"""Drift state on disk: one `.npz` (windows, captured references) and one JSON file
(feedback, replay ids) per model under `<data_dir>/drift/`. The evaluation history is
not here: it lives in the store's `drift_evaluations` table (`drift.history_table`);
these arrays stay in files because they are large, rewritten whole and never queried.

Called by `drift.service` at start (`read`) and after each evaluation round and at
close (`write`, from a worker thread). Files are written to a temporary name and
renamed, so a crash leaves the previous state, never half of one.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt


def model_dir(root: Path, key: str) -> Path:
    """The folder of one model ("namespace/name" made safe for a file name)."""
    return root / re.sub(r"[^A-Za-z0-9_.-]", "_", key.replace("/", "__"))


def write(root: Path, key: str, arrays: dict[str, npt.NDArray[Any]], meta: dict[str, Any]) -> None:
    """Replace a model's state atomically."""
    folder = model_dir(root, key)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "state.npz.tmp"
    with tmp.open("wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]
    os.replace(tmp, folder / "state.npz")
    tmp_meta = folder / "meta.json.tmp"
    tmp_meta.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(tmp_meta, folder / "meta.json")


def read(root: Path, key: str) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]] | None:
    """A model's stored state, or None when there is none."""
    folder = model_dir(root, key)
    state, meta = folder / "state.npz", folder / "meta.json"
    if not state.exists():
        return None
    with np.load(state, allow_pickle=False) as loaded:
        arrays = {k: loaded[k] for k in loaded.files}
    data = json.loads(meta.read_text(encoding="utf-8")) if meta.exists() else {}
    return arrays, data
