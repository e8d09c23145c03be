"""The fleet plan: who plays what, with which dates, repeatably from a seed."""

from __future__ import annotations

import datetime

import pytest

from aedfleet.simulator.demo_fleet import DISTRICTS, district_counts, fleet_inventory, is_outdoor
from aedfleet.simulator.plan import choose, plan_fleet
from aedfleet.simulator.scenario import BASE, ScenarioError, load_library

START = datetime.date(2026, 11, 29)
LIBRARY = load_library()


def plan(total: int = 200, names: str = "all", seed: int = 7) -> list:  # type: ignore[type-arg]
    return plan_fleet(total, choose(LIBRARY, names), LIBRARY, seed=seed, start_date=START)


def test_the_same_seed_gives_the_same_fleet_and_another_seed_another() -> None:
    assert plan(seed=7) == plan(seed=7)
    first, other = plan(seed=7), plan(seed=8)
    assert [p.cabinet for p in first] != [p.cabinet for p in other]
    assert {p.cabinet.id: p.scenario.name for p in first} != {
        p.cabinet.id: p.scenario.name for p in other
    }


def test_every_scenario_is_played_and_the_rest_of_the_fleet_has_a_normal_day() -> None:
    fleet = plan()
    played: dict[str, int] = {}
    for planned in fleet:
        played[planned.scenario.name] = played.get(planned.scenario.name, 0) + 1
    assert set(played) == set(LIBRARY)
    assert all(played[name] == 1 for name in LIBRARY if name != BASE)
    assert played[BASE] == 200 - (len(LIBRARY) - 1)
    assert len({p.cabinet.id for p in fleet}) == 200


def test_the_weather_scenario_goes_to_a_cabinet_that_stands_outside() -> None:
    cold = [p for p in plan() if p.scenario.name == "cold_night"]
    assert cold and all(is_outdoor(p.cabinet) for p in cold)


def test_expiry_dates_follow_the_scenario() -> None:
    for planned in plan():
        pads = datetime.date.fromisoformat(planned.firmware["pad_exp"])
        if planned.scenario.name == "pads_expiring":
            assert pads == START + datetime.timedelta(days=20)
        else:
            assert pads > START + datetime.timedelta(days=90)  # nothing to warn about


def test_a_forged_message_targets_another_cabinet_of_the_fleet() -> None:
    fleet = plan()
    ids = {p.cabinet.id for p in fleet}
    hostile = next(p for p in fleet if p.scenario.name == "hostile_messages")
    assert hostile.victim in ids and hostile.victim != hostile.cabinet.id


def test_too_small_a_fleet_for_the_scenarios_is_refused() -> None:
    with pytest.raises(ScenarioError, match="too few"):
        plan(total=5)
    with pytest.raises(ScenarioError, match="no scenario meteor"):
        choose(LIBRARY, "door_ajar,meteor")


@pytest.mark.parametrize("total", [1, 7, 80, 200, 10_000])
def test_any_fleet_size_is_shared_across_the_seven_districts(total: int) -> None:
    counts = district_counts(total)
    assert sum(counts.values()) == total
    assert set(counts) == set(DISTRICTS)
    cabinets = fleet_inventory(total, seed=1)
    assert len({c.id for c in cabinets}) == total
    for cabinet in cabinets:  # within reach of its district's centre
        _code, lat, lon, _count = DISTRICTS[cabinet.district]
        assert abs(cabinet.lat - lat) <= 0.08 and abs(cabinet.lon - lon) <= 0.08
