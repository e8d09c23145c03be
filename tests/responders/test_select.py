"""Nearest-K selection with hand-computed distances, and each reason a responder is left out.

Responders north of the cabinet on its meridian: a degree of latitude is
6,371,008.8 m * pi/180 = 111,195.08 m, so 0.001° is 111.195 m."""

from __future__ import annotations

import datetime

import pytest

from aedfleet.coverage.hours import parse_hours
from aedfleet.responders.roster import Responder
from aedfleet.responders.select import Limits, ResponderIndex, select_brute_force

LAT, LON = 37.38, 118.0
M_PER_MILLIDEGREE = 111.19508
# Wednesday 2026-12-02 10:00 China Standard Time (02:00 UTC)
NOW_MS = int(datetime.datetime(2026, 12, 2, 2, 0, tzinfo=datetime.UTC).timestamp() * 1000)
LIMITS = Limits(radius_m=500.0, max_responders=3, rest_minutes=30, daily_budget=3)


def responder(n: int, millidegrees: float, **changes: object) -> Responder:
    fields: dict[str, object] = {
        "id": f"r{n}", "name": f"Person {n}", "phone": f"+8613800000{n:03d}",
        "certificate_expiry": datetime.date(2027, 6, 30), "lat": LAT + millidegrees / 1000,
        "lon": LON, "available": parse_hours("24/7"), "quiet": None, "language": "zh",
    }  # fmt: skip
    fields.update(changes)
    return Responder(**fields)  # type: ignore[arg-type]


def chosen(responders: list[Responder], texted: dict[str, list[int]] | None = None) -> list[str]:
    index = ResponderIndex(responders)
    picks = index.select(LAT, LON, texted or {}, NOW_MS, LIMITS)
    assert picks == select_brute_force(responders, LAT, LON, texted or {}, NOW_MS, LIMITS)
    return [responders[p.index].id for p in picks]


def test_nearest_first_with_hand_computed_distances() -> None:
    people = [responder(1, 3), responder(2, 1), responder(3, 4), responder(4, 2)]
    picks = ResponderIndex(people).select(LAT, LON, {}, NOW_MS, LIMITS)
    assert [people[p.index].id for p in picks] == ["r2", "r4", "r1"]  # K = 3
    for pick, millidegrees in zip(picks, (1, 2, 3), strict=True):
        assert pick.distance_m == pytest.approx(millidegrees * M_PER_MILLIDEGREE, abs=0.01)


def test_beyond_the_radius() -> None:
    # 4.4 millidegrees = 489.3 m is in; 4.6 = 511.5 m is out
    assert chosen([responder(1, 4.4), responder(2, 4.6)]) == ["r1"]


def test_expired_certificate() -> None:
    expired = responder(1, 1, certificate_expiry=datetime.date(2026, 12, 1))
    today = responder(2, 2, certificate_expiry=datetime.date(2026, 12, 2))  # valid all day
    assert chosen([expired, today]) == ["r2"]


def test_outside_their_hours() -> None:
    evenings = responder(1, 1, available=parse_hours("Mo-Fr 18:00-23:00; Sa,Su 08:00-20:00"))
    weekdays = responder(2, 2, available=parse_hours("Mo-Fr 08:00-18:00"))
    assert chosen([evenings, weekdays]) == ["r2"]  # Wednesday 10:00


def test_in_their_quiet_hours() -> None:
    night_shift = responder(1, 1, quiet=parse_hours("08:00-16:00"))
    assert chosen([night_shift, responder(2, 2)]) == ["r2"]


def test_texted_in_the_last_t_minutes() -> None:
    recently = {"r1": [NOW_MS - 29 * 60_000], "r2": [NOW_MS - 31 * 60_000]}
    assert chosen([responder(1, 1), responder(2, 2)], recently) == ["r2"]


def test_over_the_daily_budget() -> None:
    midnight = NOW_MS - 10 * 3_600_000  # 00:00 local today
    hour = 3_600_000
    spent = {"r1": [midnight, midnight + hour, midnight + 2 * hour],
             "r2": [midnight - 60_000, midnight + hour, midnight + 2 * hour]}  # fmt: skip
    assert chosen([responder(1, 1), responder(2, 2)], spent) == ["r2"]  # r2's first was yesterday


def test_nobody_in_an_empty_roster() -> None:
    assert chosen([]) == []
