"""The demo fleet for the first users: Binzhou's districts and counties, valid inventory."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from aedfleet.collector.inventory import load_inventory, write_inventory
from aedfleet.simulator.demo_fleet import DISTRICTS, demo_inventory


def test_about_80_cabinets_in_every_district_near_its_centre(tmp_path: Path) -> None:
    cabinets = demo_inventory()
    assert 75 <= len(cabinets) <= 85
    assert set(Counter(c.district for c in cabinets)) == set(DISTRICTS)
    for cabinet in cabinets:
        _code, lat, lon, _count = DISTRICTS[cabinet.district]
        assert abs(cabinet.lat - lat) <= 0.1 and abs(cabinet.lon - lon) <= 0.1
    path = tmp_path / "inventory.csv"
    write_inventory(path, cabinets)
    assert sorted(load_inventory(path)) == sorted(c.id for c in cabinets)


def test_the_demo_fleet_is_the_same_every_time() -> None:
    assert demo_inventory() == demo_inventory()
    assert demo_inventory(seed=1) != demo_inventory(seed=2)
