"""Distances and circles checked against hand-computed great-circle geometry: along the equator
and a meridian the arc is exactly R times the angle, and across the antimeridian or a pole the
short way round is what counts, not a flat-earth difference of degrees."""

import math

import pytest

from aedfleet.coverage.geo import EARTH_RADIUS_M, haversine_m, radius_m
from aedfleet.coverage.live import LiveCoverage
from tests.coverage.geometry import MILLIDEGREE_M, place, site


def test_default_radius_is_half_a_four_minute_brisk_round_trip_over_the_detour() -> None:
    assert radius_m() == pytest.approx(240 * 1.5 / 2 / 1.2) == 150.0
    assert radius_m(180, 1.4, 1.0) == pytest.approx(126.0)
    with pytest.raises(ValueError, match="detour"):
        radius_m(240, 1.5, 0.9)


def test_two_cabinets_three_places_exact_distances() -> None:
    # on the equator: cabinets a at 0°, b at 0.002°E; places at 0.001°E (between them),
    # 0.001°W (a's side) and 0.004°E (beyond b, outside both circles)
    coverage = LiveCoverage(
        [place("between", 0, 0.001), place("west", 0, -0.001), place("east", 0, 0.004)],
        [site("a", 0, 0), site("b", 0, 0.002)],
        150.0,
        usable={"a", "b"},
    )
    index = coverage.index
    assert [c for c, _ in index.cabinets_of[0]] == [0, 1]
    assert [m for _, m in index.cabinets_of[0]] == pytest.approx([MILLIDEGREE_M] * 2, abs=1e-6)
    assert [c for c, _ in index.cabinets_of[1]] == [0]
    assert index.cabinets_of[1][0][1] == pytest.approx(MILLIDEGREE_M, abs=1e-6)
    assert index.cabinets_of[2] == []
    assert pytest.approx(111.19508, abs=1e-5) == MILLIDEGREE_M
    east = coverage.place(2)
    assert (east.covered, east.cabinet) == (False, "b")
    assert east.distance_m == pytest.approx(2 * MILLIDEGREE_M, abs=1e-6)
    assert [coverage.place(n).covered for n in range(3)] == [True, True, False]
    assert coverage.sole_cover("a") == [1]
    assert coverage.sole_cover("b") == []


def test_meridian_distance_is_radius_times_angle() -> None:
    assert haversine_m(10.0, 20.0, 10.003, 20.0) == pytest.approx(3 * MILLIDEGREE_M, abs=1e-6)


def test_place_exactly_on_the_radius_is_covered_and_a_centimetre_beyond_is_not() -> None:
    on_the_line = haversine_m(37.0, 118.0, 37.0, 118.0017)
    just_out = 37.0, 118.0017 + 0.01 / (MILLIDEGREE_M * 1000 * math.cos(math.radians(37)))
    coverage = LiveCoverage(
        [place("edge", 37.0, 118.0017), place("out", *just_out)],
        [site("c", 37.0, 118.0)],
        on_the_line,
        usable={"c"},
    )
    assert haversine_m(37.0, 118.0, *just_out) == pytest.approx(on_the_line + 0.01, abs=1e-4)
    assert [coverage.is_covered(0), coverage.is_covered(1)] == [True, False]


def test_antimeridian_neighbours_are_111_m_apart_not_360_degrees() -> None:
    assert haversine_m(0, 179.9995, 0, -179.9995) == pytest.approx(MILLIDEGREE_M, abs=1e-6)
    coverage = LiveCoverage(
        [place("fiji", 0, -179.9995)], [site("c", 0, 179.9995)], 150.0, usable={"c"}
    )
    assert coverage.place(0).covered
    assert coverage.place(0).distance_m == pytest.approx(MILLIDEGREE_M, abs=1e-6)


def test_high_latitude_shrinks_a_degree_of_longitude() -> None:
    # at 80°N, 0.005° of longitude is R·cos(80°)·0.005° ≈ 96.5 m: inside 150 m, though a
    # flat-earth 111 km per degree would put it at 556 m
    expected = EARTH_RADIUS_M * math.cos(math.radians(80)) * math.radians(0.005)
    assert haversine_m(80, 0, 80, 0.005) == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(96.54, abs=0.01)
    coverage = LiveCoverage([place("north", 80, 0.005)], [site("c", 80, 0)], 150.0, usable={"c"})
    assert coverage.is_covered(0)


def test_across_the_pole_the_short_way() -> None:
    # 0.0005° from the pole on opposite meridians: 0.001° of arc through the pole
    assert haversine_m(89.9995, 0, 89.9995, 180) == pytest.approx(MILLIDEGREE_M, abs=1e-6)
    coverage = LiveCoverage(
        [place("pole", 89.9995, 180)], [site("c", 89.9995, 0)], 150.0, usable={"c"}
    )
    assert coverage.is_covered(0)
