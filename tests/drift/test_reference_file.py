"""Reference files: CSV with a header, .npy, .npz; unusable files name the problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.drift.ingest.reference_file import load_reference


def test_npy_npz_and_csv(tmp_path: Path) -> None:
    matrix = np.arange(12, dtype=float).reshape(4, 3)
    np.save(tmp_path / "ref.npy", matrix)
    loaded = load_reference(tmp_path / "ref.npy", ("a", "b", "c"), ())
    assert loaded["b"].tolist() == [1.0, 4.0, 7.0, 10.0]
    assert list(load_reference(tmp_path / "ref.npy", (), ())) == ["f0", "f1", "f2"]
    np.savez(tmp_path / "cols.npz", a=matrix[:, 0], colour=np.array(["r", "w", "r", "r"]))
    loaded = load_reference(tmp_path / "cols.npz", ("a", "colour"), ("colour",))
    assert loaded["colour"].tolist() == ["r", "w", "r", "r"]
    (tmp_path / "ref.csv").write_text("a,colour\n1.5,r\n2.5,w\n")
    loaded = load_reference(tmp_path / "ref.csv", (), ("colour",))
    assert loaded["a"].tolist() == [1.5, 2.5] and loaded["colour"].tolist() == ["r", "w"]


@pytest.mark.parametrize(
    ("name", "content", "features", "message"),
    [
        ("ref.parquet", b"x", (), "must be .csv, .npy or .npz"),
        ("ref.csv", b"a,b\n1,x\n2,y\n3,z\n", (), "'x' is not a finite number"),
        ("ref.csv", b"a\n1\n", ("a", "b"), "no column for features b"),
        ("ref.npy", b"garbage", (), "cannot read"),
    ],
)
def test_bad_reference_files(
    tmp_path: Path, name: str, content: bytes, features: tuple[str, ...], message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_reference(path, features, ())
