"""Coverage follows readiness and access hours one cabinet at a time, and always equals a
from-scratch brute-force scan."""

import datetime
import random

import pytest

from aedfleet.coverage.geo import haversine_m
from aedfleet.coverage.live import LiveCoverage
from aedfleet.coverage.places import Place
from aedfleet.coverage.sites import Site, usable_sites
from tests.coverage.geometry import place, site


def _instance() -> LiveCoverage:
    return LiveCoverage(
        [place("between", 0, 0.001, weight=10), place("west", 0, -0.001, weight=30,
         district="B"), place("east", 0, 0.004, weight=60, district="B")],
        [site("a", 0, 0), site("b", 0, 0.002)],
        150.0,
        usable={"a", "b"},
    )  # fmt: skip


def test_a_cabinet_not_ready_uncovers_only_the_places_nobody_else_covers() -> None:
    coverage = _instance()
    change = coverage.set_usable("a", False)
    assert (change.lost, change.regained, sorted(change.touched)) == ([1], [], [0, 1])
    assert [coverage.is_covered(n) for n in range(3)] == [True, False, False]
    assert coverage.place(0).cabinet == "b"
    assert coverage.place(1).cabinet == "b"  # the nearest alternative, 333.6 m away
    assert coverage.place(1).distance_m == pytest.approx(333.585, abs=1e-3)
    assert coverage.sole_cover("b") == [0]
    assert coverage.uncovered_in_circle("a") == [1]
    change = coverage.set_usable("a", True)
    assert (change.lost, change.regained) == ([], [1])


def test_district_and_fleet_percentages_plain_and_weighted() -> None:
    coverage = _instance()
    a, b = coverage.districts()
    assert (a.district, a.places, a.covered, a.pct, a.weighted_pct) == ("A", 1, 1, 100.0, 100.0)
    assert (b.places, b.covered) == (2, 1)
    assert b.weighted_pct == pytest.approx(100 * 30 / 90)
    fleet = coverage.fleet()
    assert (fleet.places, fleet.covered, fleet.covered_weight) == (3, 2, 40.0)
    assert fleet.pct == pytest.approx(200 / 3)
    coverage.set_usable("b", False)
    coverage.set_usable("a", False)
    assert (coverage.fleet().covered, coverage.fleet().covered_weight) == (0, 0.0)
    assert coverage.place(0).distance_m is None


def test_access_hours_across_midnight_decide_the_cover() -> None:
    night = site("bar", 0, 0, hours="Fr-Sa 22:00-02:00")
    ready = {"bar"}
    saturday_1am = datetime.datetime(2026, 12, 5, 1, 0)  # spill-over of Friday's night
    sunday_1am = datetime.datetime(2026, 12, 6, 1, 30)  # spill-over of Saturday's
    monday_1am = datetime.datetime(2026, 12, 7, 1, 0)
    saturday_3am = datetime.datetime(2026, 12, 5, 3, 0)
    assert usable_sites([night], ready, saturday_1am) == {"bar"}
    assert usable_sites([night], ready, sunday_1am) == {"bar"}
    assert usable_sites([night], ready, monday_1am) == set()
    assert usable_sites([night], ready, saturday_3am) == set()
    assert usable_sites([night], set(), saturday_1am) == set()
    coverage = LiveCoverage([place("p", 0, 0.001)], [night], 150.0,
                            usable_sites([night], ready, saturday_3am))  # fmt: skip
    assert not coverage.is_covered(0)


def _brute_force(
    places: list[Place], sites: list[Site], usable: set[str], radius: float
) -> list[tuple[bool, str]]:
    out = []
    for p in places:
        near = sorted(
            (haversine_m(p.lat, p.lon, s.lat, s.lon), s.id) for s in sites if s.id in usable
        )
        out.append((bool(near) and near[0][0] <= radius, near[0][1] if near else ""))
    return out


def test_incremental_changes_equal_a_brute_force_scan() -> None:
    rng = random.Random(7)
    places = [place(f"p{n}", rng.uniform(0, 0.01), rng.uniform(0, 0.01), rng.uniform(1, 9))
              for n in range(60)]  # fmt: skip
    sites = [site(f"c{n}", rng.uniform(0, 0.01), rng.uniform(0, 0.01)) for n in range(25)]
    usable = {s.id for s in sites if rng.random() < 0.5}
    coverage = LiveCoverage(places, sites, 150.0, usable)
    for _ in range(80):
        cabinet = rng.choice(sites).id
        now = cabinet not in usable
        (usable.add if now else usable.discard)(cabinet)
        coverage.set_usable(cabinet, now)
        expected = _brute_force(places, sites, usable, 150.0)
        got = [(c.covered, c.cabinet) for c in map(coverage.place, range(len(places)))]
        assert got == expected
        weight = sum(p.weight for p, (covered, _) in zip(places, expected, strict=True) if covered)
        assert coverage.fleet().covered_weight == pytest.approx(weight)
