"""The key-places file is validated like the inventory: a bad row stops start-up, naming its
line; and the shipped Binzhou demo set fits the demo fleet."""

import collections
from pathlib import Path

import pytest

from aedfleet.collector.inventory import Cabinet
from aedfleet.coverage.geo import radius_m
from aedfleet.coverage.hours import HoursError
from aedfleet.coverage.live import LiveCoverage
from aedfleet.coverage.places import DEMO_PLACES, PlacesError, load_places
from aedfleet.coverage.sites import sites_from, usable_sites
from aedfleet.simulator.demo_fleet import DISTRICTS, demo_inventory
from tests.coverage.geometry import NOON

HEADER = "id,name,kind,district,lat,lon,weight\n"
GOOD = "bc-001,Bincheng Railway Station,station,Bincheng,37.44,117.99,25000\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "places.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_and_weight_defaults_to_one(tmp_path: Path) -> None:
    places = load_places(
        _write(tmp_path, HEADER + GOOD + "bc-002,Square,square,Bincheng,37,118,\n")
    )
    assert [(p.id, p.weight) for p in places] == [("bc-001", 25000.0), ("bc-002", 1.0)]
    no_weight = load_places(_write(tmp_path, "id,name,kind,district,lat,lon\nx,X,park,D,1,2\n"))
    assert no_weight[0].weight == 1.0


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("bc-002,Square,square,Bincheng,91,118,1\n", "lat"),
        ("bc-002,Square,square,Bincheng,37,118,0\n", "weight"),
        ("bc-002,Square,square,Bincheng,37,118,-5\n", "weight"),
        ("bc-002,Square,church,Bincheng,37,118,1\n", "kind 'church'"),
        ("BC 2,Square,square,Bincheng,37,118,1\n", "id"),
        ("bc-002,,square,Bincheng,37,118,1\n", "name"),
        ("bc-002,Sq\u202euare,square,Bincheng,37,118,1\n", r"U\+202E"),
        ("bc-002,Square,square,Bincheng,north,118,1\n", "lat"),
        ("bc-002,Square,square,Bincheng,37,118,1,extra\n", "more values"),
        ("bc-001,Again,square,Bincheng,37,118,1\n", "listed twice"),
    ],
)
def test_a_bad_row_names_its_line(tmp_path: Path, row: str, reason: str) -> None:
    with pytest.raises(PlacesError, match=rf"places.csv:3: .*{reason}"):
        load_places(_write(tmp_path, HEADER + GOOD + row))


def test_missing_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(PlacesError, match=r"missing columns \['kind'\]"):
        load_places(_write(tmp_path, "id,name,district,lat,lon\n"))


def test_a_cabinet_with_unparseable_hours_stops_start_up_naming_it() -> None:
    cabinet = demo_inventory()[0]
    odd = Cabinet(**{**{f: getattr(cabinet, f) for f in cabinet.__struct_fields__},
                     "access_hours": "24h"})  # fmt: skip
    with pytest.raises(HoursError, match=f"cabinet {cabinet.id}: access_hours '24h'"):
        sites_from([odd])


def test_demo_places_fit_the_demo_fleet() -> None:
    places = load_places(DEMO_PLACES)
    assert 100 <= len(places) <= 150
    assert {p.district for p in places} == set(DISTRICTS)
    sites = sites_from(demo_inventory())
    coverage = LiveCoverage(places, sites, radius_m(), usable_sites(sites, {s.id for s in sites},
                                                                    NOON))  # fmt: skip
    covers = collections.Counter(
        min(sum(coverage.usable[c] for c, _ in coverage.index.cabinets_of[n]), 2)
        for n in range(len(places))
    )
    assert covers[0] >= 10 and covers[1] >= 10 and covers[2] >= 2
