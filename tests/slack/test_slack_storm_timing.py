"""When the storm digest is refreshed: on a change or once the storm calms, never on a
bare timer while it rages (that kept the sender busy, so `idle()` waited out the storm)."""

from __future__ import annotations

from bot.slack.digest import STORM_WINDOW, Storm


def _storm_of(groups: int, at: float = 100.0) -> Storm:
    storm = Storm(threshold=3, interval=1.0)
    for n in range(groups):
        storm.open("C1", f"g{n}", at + n * 0.1)
    return storm


def test_an_unchanged_digest_of_a_raging_storm_is_not_due_again() -> None:
    storm = _storm_of(6)
    storm.touch()
    assert storm.due(101.0) == ["C1"]  # a change: refresh it
    storm.dirty.discard("C1")  # what a refresh does before it reads
    storm.sent_at["C1"] = 101.0
    for later in (102.0, 110.0, 150.0):  # still raging: nothing new to show
        assert storm.due(later) == []
        assert storm.next_due(later) is None


def test_a_change_makes_it_due_once_its_interval_has_passed() -> None:
    storm = _storm_of(6)
    storm.sent_at["C1"] = 101.0
    storm.touch()
    assert storm.due(101.5) == []
    assert storm.next_due(101.5) == 0.5
    assert storm.due(102.0) == ["C1"]


def test_the_calm_is_a_timer_and_the_calm_digest_is_due() -> None:
    storm = _storm_of(6)  # opened at 100.0 .. 100.5; threshold 3
    storm.sent_at["C1"] = 101.0
    # Raging until three of the six have left the window: the third opened at 100.2.
    assert abs((storm.next_calm(101.0) or 0) - (100.2 + STORM_WINDOW - 101.0)) < 1e-9
    calm = 100.2 + STORM_WINDOW + 0.01
    assert storm.next_calm(calm) is None
    assert storm.due(calm) == ["C1"]  # its title changes; it ends once every group has its own


def test_no_timer_without_a_storm() -> None:
    storm = _storm_of(2)  # under the threshold: nothing listed
    assert storm.next_calm(101.0) is None
    assert storm.due(101.0) == []
