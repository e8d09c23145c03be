"""The access_hours subset of OpenStreetMap's opening_hours: what it means, and what it refuses."""

import datetime

import pytest

from aedfleet.coverage.hours import HoursError, parse_hours

TUESDAY = datetime.date(2026, 12, 1)


def at(day_offset: int, hh: int, mm: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(TUESDAY, datetime.time(hh, mm)) + datetime.timedelta(
        days=day_offset
    )


def test_always_open() -> None:
    for text in ("24/7", "Mo-Su 00:00-24:00", "00:00-24:00"):
        hours = parse_hours(text)
        assert hours.always
        assert hours.is_open(at(0, 3))
        assert hours.next_change(at(0, 3)) is None


def test_weekdays_and_saturday() -> None:
    hours = parse_hours("Mo-Fr 08:00-20:00; Sa 09:00-17:00")
    assert not hours.is_open(at(0, 7, 59))
    assert hours.is_open(at(0, 8))
    assert hours.is_open(at(0, 19, 59))
    assert not hours.is_open(at(0, 20))
    assert hours.is_open(at(4, 9)) and not hours.is_open(at(4, 8, 59))  # Saturday
    assert not hours.is_open(at(5, 12))  # Sunday: no rule names it
    assert hours.next_change(at(0, 3)) == at(0, 8)
    assert hours.next_change(at(0, 8)) == at(0, 20)
    assert hours.next_change(at(4, 17)) == at(6, 8)  # Saturday 17:00 -> Monday 08:00


def test_every_day_without_a_day_selector() -> None:
    hours = parse_hours("06:00-22:00")
    assert all(hours.is_open(at(day, 6)) and not hours.is_open(at(day, 22)) for day in range(7))


def test_across_midnight_and_across_the_week() -> None:
    hours = parse_hours("Su 20:00-04:00")
    assert hours.is_open(at(5, 23))  # Sunday night
    assert hours.is_open(at(6, 3, 59))  # Monday before dawn
    assert not hours.is_open(at(6, 4))
    assert hours.next_change(at(6, 1)) == at(6, 4)


def test_a_later_rule_replaces_the_earlier_on_its_days() -> None:
    hours = parse_hours("Mo-Su 08:00-18:00; We off; Sa 10:00-12:00,14:00-16:00")
    assert not hours.is_open(at(1, 9))  # Wednesday off
    assert hours.is_open(at(4, 11)) and not hours.is_open(at(4, 13))  # Saturday's two spans
    assert hours.is_open(at(3, 9))


def test_spans_that_touch_are_one_open_period() -> None:
    hours = parse_hours("Mo-Su 00:00-12:00,12:00-24:00")
    assert hours.always


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("24h", "not a time span"),
        ("Mo-Fr", "not a time span"),
        ("PH off", "not a day"),
        ("Mo-Fr 08:00-20:00; ", "empty rule"),
        ("Mo-Fr 8:00-20:00", "not a time span"),
        ("Mo-Fr 08:00-25:00", "not a time of day"),
        ("Mo-Fr 08:70-20:00", "not a time of day"),
        ("Mo-Fr 08:00-08:00", "same minute"),
        ("sunrise-sunset", "not a time span"),
        ("Jan-Mar 08:00-20:00", "not a day"),
        ("Mo-Fr 08:00-12:00, 14:00-18:00", "not a day"),
    ],
)
def test_refuses_what_the_subset_cannot_say(text: str, reason: str) -> None:
    with pytest.raises(HoursError, match=reason):
        parse_hours(text)
