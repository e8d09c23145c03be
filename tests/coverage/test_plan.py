"""Greedy planning against brute force over every N-subset of the candidates: the same coverage
where greedy is optimal, never more than the optimum, and every printed figure exact."""

import itertools
from pathlib import Path

import pytest

from aedfleet.coverage.live import LiveCoverage
from aedfleet.coverage.places import Place
from aedfleet.coverage.plan import (
    Candidate,
    CandidatesError,
    greedy_plan,
    load_candidates,
    uncovered_places_as_candidates,
)
from tests.coverage.geometry import MILLIDEGREE_M, place, site

RADIUS = 150.0


def _row(weights: list[int]) -> list[Place]:
    """Places 0.001° (111 m) apart on the equator, with these footfall weights."""
    return [place(f"p{n}", 0, n * 0.001, weight=w) for n, w in enumerate(weights)]


def _coverage_with(places: list[Place], extra: list[Candidate]) -> tuple[int, float]:
    sites = [site("existing", 0, 0)] + [site(f"new{n}", c.lat, c.lon) for n, c in enumerate(extra)]
    fleet = LiveCoverage(places, sites, RADIUS, {s.id for s in sites}).fleet()
    return fleet.covered, fleet.covered_weight


@pytest.mark.parametrize(
    ("weights", "add", "greedy_is_optimal"),
    [
        ([5, 1, 9, 1, 1, 1, 7, 1, 1, 6], 1, True),
        ([5, 1, 9, 1, 1, 1, 7, 1, 1, 6], 2, True),
        ([5, 1, 9, 1, 1, 1, 7, 1, 1, 6], 3, True),
        # greedy takes p5's site (13) then p3's (9): 28; p3's and p7's sites make 31
        ([5, 1, 1, 8, 2, 2, 9, 1, 3, 4], 2, False),
        ([5, 1, 1, 8, 2, 2, 9, 1, 3, 4], 3, True),
    ],
)
def test_greedy_against_brute_force_over_every_subset(
    weights: list[int], add: int, greedy_is_optimal: bool
) -> None:
    places = _row(weights)
    coverage = LiveCoverage(places, [site("existing", 0, 0)], RADIUS, {"existing"})
    assert MILLIDEGREE_M < RADIUS < 2 * MILLIDEGREE_M  # a site covers its place and neighbours
    candidates = uncovered_places_as_candidates(coverage)
    assert [c.name for c in candidates] == [f"Place p{n}" for n in range(2, 10)]
    steps = greedy_plan(coverage, candidates, add)
    best = max(
        _coverage_with(places, list(subset))[1]
        for subset in itertools.combinations(candidates, add)
    )
    assert (steps[-1].covered_weight == best) is greedy_is_optimal
    assert steps[-1].covered_weight <= best
    for number, step in enumerate(steps, start=1):
        # the figure printed after each site is what the fleet with those sites really covers
        assert (step.covered, step.covered_weight) == _coverage_with(
            places, [s.candidate for s in steps[:number]]
        )


def test_stops_when_nothing_more_can_be_covered() -> None:
    places = [place("p", 0, 0.001)]
    coverage = LiveCoverage(places, [site("c", 0, 0)], RADIUS, set())
    steps = greedy_plan(coverage, uncovered_places_as_candidates(coverage), 5)
    assert [(s.candidate.name, s.covered) for s in steps] == [("Place p", 1)]


def test_candidates_file_names_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("name,lat,lon\nLibrary,37.1,118.0\nRoof,137,118\n", encoding="utf-8")
    with pytest.raises(CandidatesError, match=r"sites.csv:3: .*lat"):
        load_candidates(path)
    path.write_text("name,lat,lon\nLibrary,37.1,118.0\n", encoding="utf-8")
    assert load_candidates(path) == [Candidate(name="Library", lat=37.1, lon=118.0)]
