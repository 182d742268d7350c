"""`triage-bot export-case`: a stored triage becomes a corpus incident that replays to the
same verdict, so real incidents grow the corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.slack.buttons import group_id
from bot.store.sqlite import Store
from tests.corpus.runner import run_corpus
from tests.corpus.schema import Case, load_cases, load_incidents
from tests.corpus.score import score

CASE = "rollout-keyerror-new-revision"


@pytest.fixture
async def stored(tmp_path: Path) -> tuple[Path, str]:
    """A data dir whose store holds the triage of one corpus case, and its group key."""
    [outcome] = await run_corpus({CASE: load_cases()[CASE]}, tmp_path / "run")
    store = Store(tmp_path / "data" / "triage-bot.sqlite3")
    await store.open()
    try:
        await store.save_report(outcome.report)
    finally:
        await store.close()
    return tmp_path / "data", outcome.report.group_key


async def test_an_exported_incident_replays_to_the_same_verdict(
    stored: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, key = stored
    argv = ["export-case", group_id(key), "--data-dir", str(data), "--expect", "rollout/code"]
    assert main(argv) == 0
    exported = yaml.safe_load(capsys.readouterr().out)
    case = Case.model_validate(exported)  # the corpus's own strict schema
    assert case.expect.category == "rollout" and case.evidence and not case.objects
    incidents = tmp_path / "incidents"
    incidents.mkdir()
    (incidents / "exported.yaml").write_text(yaml.safe_dump(exported))
    [replayed] = await run_corpus(load_incidents(incidents), tmp_path / "replay")
    result = score(replayed)
    assert result.right and not result.missed and not result.leaks
    assert replayed.report.verdict.details["rollback_to"] == "fraud-model-predictor-00003"


def test_an_unanswered_diagnosis_needs_the_truth_from_the_user(
    stored: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    data, key = stored
    assert main(["export-case", key, "--data-dir", str(data)]) == 2
    assert "--expect CATEGORY/CAUSE" in capsys.readouterr().err
    assert main(["export-case", "nope", "--data-dir", str(data)]) == 2
    assert "no triage of group 'nope'" in capsys.readouterr().err
    assert main(["export-case", key, "--data-dir", str(data), "--expect", "weird"]) == 2
    assert "is not one of" in capsys.readouterr().err
