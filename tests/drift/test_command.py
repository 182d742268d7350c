"""`triage-bot drift`: exit codes, the table, the JSON, and one-line errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from bot.drift.command import run_drift_command


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    path.write_text(
        "\n".join([",".join(header)] + [",".join(str(c) for c in r) for r in rows]) + "\n",
        encoding="utf-8",
    )
    return path


def _run(reference: Path, production: Path, **kw: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_drift_command(
        reference,
        production,
        alpha=float(kw.get("alpha", 0.05)),  # type: ignore[arg-type]
        as_json=bool(kw.get("as_json", False)),
        out=out,
        err=err,
    )
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    rng = np.random.default_rng(42)
    header = ["age", "income", "city"]

    def rows(n: int, shift: float, cities: list[float]) -> list[list[object]]:
        return [
            [round(a, 3), round(b, 2), c]
            for a, b, c in zip(
                rng.normal(40 + shift, 10, n),
                rng.lognormal(10, 1, n),
                rng.choice(["oslo", "lima", "pune"], n, p=cities),
                strict=True,
            )
        ]

    even = [1 / 3, 1 / 3, 1 / 3]
    reference = _write(tmp_path / "ref.csv", header, rows(600, 0.0, even))
    same = _write(tmp_path / "same.csv", header, rows(400, 0.0, even))
    drifted = _write(tmp_path / "drifted.csv", header, rows(400, 8.0, [0.8, 0.1, 0.1]))
    return reference, same, drifted


def test_no_drift_exits_0_with_a_table(files: tuple[Path, Path, Path]) -> None:
    reference, same, _ = files
    code, out, err = _run(reference, same)
    assert (code, err) == (0, "")
    assert out.splitlines()[0].split() == [
        "feature", "test", "statistic", "p-value", "effect", "psi", "drift",
    ]  # fmt: skip
    assert "verdict: no drift" in out


def test_drift_exits_1_and_json_names_features(files: tuple[Path, Path, Path]) -> None:
    reference, _, drifted = files
    code, out, err = _run(reference, drifted, as_json=True)
    assert (code, err) == (1, "")
    doc = json.loads(out)
    assert doc["drift"] is True
    by_name = {f["name"]: f for f in doc["features"]}
    assert set(by_name) == {"age", "income", "city"}
    for f in doc["features"]:
        assert {"name", "test", "statistic", "p_value", "drift"} <= set(f)
    assert by_name["age"]["test"] == "ks" and by_name["age"]["drift"] is True
    assert by_name["city"]["test"] == "chi2" and by_name["city"]["drift"] is True
    assert by_name["income"]["drift"] is False


def test_column_order_may_differ(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    reference, same, _ = files
    lines = same.read_text().splitlines()
    swapped = [",".join(reversed(line.split(","))) for line in lines]
    other = tmp_path / "swapped.csv"
    other.write_text("\n".join(swapped) + "\n")
    assert _run(reference, other)[0] == 0


@pytest.mark.parametrize(
    ("production_text", "message"),
    [
        (None, "no such file"),
        ("", "empty file"),
        ("age,income,city\n", "no data rows"),
        ("age,income\n1,2\n", "columns do not match: missing from"),
        ("age,income,city,zip\n1,2,oslo,3\n", "not in"),
        ("age,income,city\n1,2\n", "line 2 has 2 fields"),
        ("age,income,city\n" + "1,2,oslo\n" * 40 + "abc,2,oslo\n", "'abc' is not a finite number"),
        ("age,income,city\n" + "1,2,oslo\n" * 3, "at least 30"),
    ],
)
def test_errors_exit_2_with_one_line(
    files: tuple[Path, Path, Path], tmp_path: Path, production_text: str | None, message: str
) -> None:
    reference, _, _ = files
    production = tmp_path / "prod.csv"
    if production_text is not None:
        production.write_text(production_text)
    code, out, err = _run(reference, production)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_bad_alpha_and_garbage_reference(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    reference, same, _ = files
    code, _, err = _run(reference, same, alpha=1.5)
    assert code == 2 and "--alpha" in err
    garbage = tmp_path / "garbage.csv"
    text = reference.read_text().splitlines()
    text[5] = "forty,1,oslo"
    garbage.write_text("\n".join(text) + "\n")
    code, _, err = _run(garbage, same)
    assert code == 2 and "line 6" in err and "'forty'" in err
