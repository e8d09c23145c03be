"""Live coverage as the collector keeps it: readiness changes and access-hours boundaries, in
simulated time, and the `coverage` points InfluxDB accepts and answers the report's figures
from."""

from __future__ import annotations

import datetime

import httpx
import pytest

from aedfleet.coverage.tracker import CoverageTracker
from aedfleet.influx_query import query
from aedfleet.services import LocalServices
from tests.coverage.geometry import place, site

CST = datetime.timezone(datetime.timedelta(hours=8))


def ms(day: int, hour: int, minute: int = 0) -> int:
    return int(datetime.datetime(2026, 12, day, hour, minute, tzinfo=CST).timestamp() * 1000)


def _tracker(now_ms: int) -> CoverageTracker:
    # a mall's cabinet open 06:00-22:00 and a station's open all day, 222 m apart; one place
    # between them, one only the mall covers
    return CoverageTracker(
        [place("between", 0, 0.001, weight=10), place("mall_square", 0, -0.001, weight=30)],
        [site("mall", 0, 0, hours="06:00-22:00"), site("station", 0, 0.002)],
        150.0, 480, now_ms,
    )  # fmt: skip


def test_nothing_is_covered_until_a_cabinet_is_ready() -> None:
    tracker = _tracker(ms(1, 12))
    assert tracker.coverage.fleet().covered == 0
    update = tracker.on_readiness("mall", "available")
    assert (sorted(update.lost), sorted(update.regained)) == ([], [0, 1])
    assert tracker.on_readiness("station", "available").regained == []  # both covered already
    update = tracker.on_readiness("mall", "offline")
    assert (update.lost, update.regained, update.touched) == ([1], [], {0, 1})
    assert [p.name for p in tracker.uncovered_by("mall")] == ["Place mall_square"]
    assert tracker.on_readiness("nobody", "available").touched == set()


def test_access_hours_boundaries_close_and_reopen_the_cover() -> None:
    tracker = _tracker(ms(1, 21))
    tracker.on_readiness("mall", "available")
    tracker.on_readiness("station", "available")
    assert tracker.next_boundary_ms() == ms(1, 22)
    assert tracker.on_clock(ms(1, 21, 59)).touched == set()
    night = tracker.on_clock(ms(1, 22))
    assert night.lost == [1]
    assert tracker.place(1).covered is False
    assert tracker.place(1).cabinet == "station"  # the nearest alternative, 333.6 m
    assert tracker.next_boundary_ms() == ms(2, 6)
    # a readiness change while it is shut does not bring it back
    assert tracker.on_readiness("mall", "available").regained == []
    morning = tracker.on_clock(ms(2, 6, 0) + 30_000)
    assert morning.regained == [1]


def test_a_place_lost_and_regained_in_one_update_is_not_reported() -> None:
    tracker = _tracker(ms(1, 12))
    tracker.on_readiness("mall", "available")
    update = tracker.on_readiness("mall", "offline")
    again = tracker.on_readiness("mall", "available")
    update.merge(again.lost, again.regained, list(again.touched))
    assert (update.lost, update.regained) == ([], [])


def test_points_hold_places_districts_and_the_fleet() -> None:
    tracker = _tracker(ms(1, 12))
    update = tracker.on_readiness("station", "available")
    lines = tracker.lines(update, ms(1, 12))
    assert lines[0].startswith("coverage,district=A,place=between,scope=place covered=true,")
    assert 'cabinet="station",distance_m=111.19' in lines[0]
    assert lines[-2].startswith("coverage,district=A,scope=district places=2i,covered_n=1i,")
    assert lines[-1].startswith(
        "coverage,scope=fleet places=2i,covered_n=1i,uncovered_n=1i,pct=50.0,"
    )
    assert "weighted_pct=25.0" in lines[-1]
    assert tracker.lines(tracker.on_readiness("station", "available"), 0) == []
    slices = list(tracker.all_lines(ms(1, 12), slice_size=1))
    assert [len(lines) for lines in slices] == [1, 1, 2]  # a place, a place, district + fleet


@pytest.mark.services
def test_influxdb_stores_the_points_and_answers_the_fleet_figure(services: LocalServices) -> None:
    url, database = services.influxdb.url, "coverage_points"
    httpx.post(f"{url}/query", params={"q": f"CREATE DATABASE {database}"}).raise_for_status()
    tracker = _tracker(ms(1, 12))
    tracker.on_readiness("station", "available")
    lines = [line for lines in tracker.all_lines(ms(1, 12)) for line in lines]
    httpx.post(f"{url}/write", params={"db": database, "precision": "ms"},
               content="\n".join(lines).encode()).raise_for_status()  # fmt: skip
    fleet = query(url, database, 'SELECT last("pct") FROM "coverage" WHERE "scope" = \'fleet\'')
    assert fleet[0]["last"] == 50.0
    uncovered = query(url, database, "SELECT \"name\", \"cabinet\", \"distance_m\" FROM "
                      "\"coverage\" WHERE \"scope\" = 'place' AND \"covered\" = false")  # fmt: skip
    assert [(r["name"], r["cabinet"]) for r in uncovered] == [("Place mall_square", "station")]
    assert uncovered[0]["distance_m"] == pytest.approx(333.585, abs=1e-3)
