"""Time in each readiness state, from transitions: exact to the transitions' timestamps."""

from __future__ import annotations

import pytest

from aedfleet.report.period import Month
from aedfleet.report.readiness import Change, Durations, durations, per_day, ready_pct

AVAILABLE, OFFLINE, IN_USE, NOT_READY = 1, 2, 4, 0


def test_a_state_holds_until_the_next_transition() -> None:
    d = durations(0, 100, AVAILABLE, [Change(10, IN_USE), Change(30, NOT_READY),
                                      Change(70, AVAILABLE)])  # fmt: skip
    assert d == Durations(available=40, in_use=20, not_ready=40)
    assert ready_pct(d) == 40.0


def test_time_before_the_first_known_state_is_unknown_and_not_counted() -> None:
    d = durations(0, 100, None, [Change(20, AVAILABLE), Change(60, OFFLINE)])
    assert d == Durations(available=40, offline=40, unknown=20)
    assert ready_pct(d) == 50.0
    assert ready_pct(durations(0, 100, None, [])) is None


def test_days_split_at_midnight_and_carry_the_state_over() -> None:
    changes = [Change(150, NOT_READY), Change(250, AVAILABLE)]
    days = per_day([0, 100, 200], 300, AVAILABLE, changes)
    assert days == [Durations(available=100), Durations(available=50, not_ready=50),
                    Durations(not_ready=50, available=50)]  # fmt: skip
    assert sum(days, Durations()) == durations(0, 300, AVAILABLE, changes)


def test_a_month_counts_in_local_time() -> None:
    november = Month.parse("2026-11")
    assert november.days == 30 and str(november.previous()) == "2026-10"
    assert str(Month.parse("2026-12").next()) == "2027-01"
    assert november.start_ms == 1_793_462_400_000  # 2026-11-01 00:00 +08:00
    with pytest.raises(ValueError, match="not a month"):
        Month.parse("2026-13")
