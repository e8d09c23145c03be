"""The staged rollout's pure core: the waves, and what it does with what cabinets say."""

from __future__ import annotations

import random

from aedfleet.rollout.plan import (
    APPLIED,
    DONE,
    FAILED,
    HALTED,
    PENDING,
    Policy,
    Rollout,
    Site,
    groups,
    plan_waves,
    wave_sizes,
)

DISTRICTS = ("bincheng", "zhanhua", "huimin", "yangxin", "wudi", "boxing", "zouping")
MINUTE = 60_000


def fleet(count: int, seed: int = 7) -> list[Site]:
    """Cabinets over seven districts; a third of them in clusters around crowded places."""
    rng = random.Random(seed)
    sites = []
    for n in range(count):
        district = DISTRICTS[n % len(DISTRICTS)] if n % 11 else DISTRICTS[0]
        base_lat, base_lon = 37.0 + DISTRICTS.index(district) * 0.1, 117.0
        if n % 3 == 0:  # a station square: within 200 m of its centre
            lat, lon = base_lat + rng.uniform(0, 0.0015), base_lon + rng.uniform(0, 0.0015)
        else:
            lat, lon = base_lat + rng.uniform(0, 0.08), base_lon + rng.uniform(0, 0.08)
        sites.append(Site(f"c-{n:03d}", district, lat, lon))
    return sites


def test_waves_are_one_cabinet_then_5_25_percent_and_the_rest() -> None:
    assert wave_sizes(80) == [1, 3, 16, 60]
    assert wave_sizes(200) == [1, 9, 40, 150]
    assert wave_sizes(3) == [1, 1, 1]  # each wave at least one cabinet further
    assert wave_sizes(1) == [1]


def test_no_district_and_no_neighbourhood_is_updated_all_at_once() -> None:
    sites = fleet(200)
    waves = plan_waves(sites)
    assert [len(w) for w in waves] == wave_sizes(200)
    assert sorted(c for w in waves for c in w) == sorted(s.id for s in sites)
    wave_of = {c: i for i, w in enumerate(waves) for c in w}
    must_split = groups(sites)
    assert any(len(g) > 5 for g in must_split)  # the clusters are there to be split
    for group in must_split:
        assert len({wave_of[c] for c in group}) > 1, sorted(group)
    assert len({s.district for s in sites if s.id in waves[1]}) == len(DISTRICTS)


def online(rollout: Rollout, cabinets: list[str], fw: str, now: int) -> None:
    for cabinet in cabinets:
        rollout.observe(cabinet, "status", {"state": "online", "fw": fw}, now)


def test_a_good_release_reaches_every_cabinet_wave_by_wave() -> None:
    sites = fleet(40)
    rollout = Rollout("1.1.0", plan_waves(sites), Policy(soak_s=600))
    online(rollout, [s.id for s in sites], "1.0.0", 0)
    now = 0
    offered_per_wave = []
    while rollout.phase != DONE:
        offered = rollout.step(now)
        if offered:
            offered_per_wave.append(sorted(offered))
            for cabinet in offered:  # each installs it, reboots and says so
                rollout.observe(cabinet, "event", {"ev": "ota_applied", "fw": "1.1.0"}, now)
        now += MINUTE
    assert offered_per_wave == [sorted(w) for w in rollout.waves]
    assert rollout.versions() == {"1.1.0": 40}


def test_a_release_that_fails_its_trial_halts_after_the_first_wave() -> None:
    sites = fleet(200)
    rollout = Rollout("1.1.3", plan_waves(sites))
    online(rollout, [s.id for s in sites], "1.0.0", 0)
    [first] = rollout.step(0)
    rollout.observe(first, "event", {"ev": "ota_failed", "fw": "1.1.3", "reason": "trial_crash"}, 1)
    rollout.observe(first, "event", {"ev": "ota_rolled_back", "fw": "1.0.0", "from": "1.1.3"}, 1)
    assert rollout.step(MINUTE) == []
    assert rollout.phase == HALTED
    assert rollout.reason == "wave 1: 1 of 1 failed (trial_crash); threshold 0"
    assert rollout.withdrawn() == [first]
    assert rollout.step(10 * MINUTE) == []  # the rest never receive it
    assert [c[FAILED] for c in rollout.counts()] == [1, 0, 0, 0]
    assert sum(c[PENDING] for c in rollout.counts()) == 199


def test_an_opened_cabinet_is_offered_the_release_only_once_it_is_closed() -> None:
    sites = fleet(10)
    rollout = Rollout("1.1.0", plan_waves(sites), Policy(soak_s=0))
    online(rollout, [s.id for s in sites], "1.0.0", 0)
    first = rollout.waves[0][0]
    rollout.observe(first, "event", {"ev": "door_open"}, 0)
    assert rollout.step(0) == []
    assert rollout.step(5 * MINUTE) == []
    rollout.observe(first, "event", {"ev": "door_close", "open_s": 300}, 5 * MINUTE)
    assert rollout.step(6 * MINUTE) == [first]


def test_a_fault_during_the_soak_halts_and_a_silent_cabinet_counts_as_failed() -> None:
    sites = fleet(40)
    rollout = Rollout("1.1.0", plan_waves(sites), Policy(soak_s=3600, report_s=600))
    online(rollout, [s.id for s in sites], "1.0.0", 0)
    [first] = rollout.step(0)
    rollout.observe(first, "event", {"ev": "ota_applied", "fw": "1.1.0"}, 0)
    rollout.step(MINUTE)
    rollout.observe(first, "event", {"ev": "fault", "code": "temp_sensor"}, 2 * MINUTE)
    rollout.step(3 * MINUTE)
    assert rollout.phase == HALTED and "fault temp_sensor" in rollout.reason
    silent = Rollout("1.1.0", plan_waves(sites), Policy(report_s=600))
    online(silent, [s.id for s in sites], "1.0.0", 0)
    silent.step(0)
    silent.step(11 * MINUTE)
    assert silent.phase == HALTED and "no_report" in silent.reason


def test_the_state_survives_a_round_trip_through_json() -> None:
    rollout = Rollout("1.1.0", plan_waves(fleet(20)))
    online(rollout, rollout.waves[0], "1.0.0", 0)
    rollout.step(0)
    again = Rollout.from_json(rollout.to_json())
    assert again == rollout
    assert again.cabinets[rollout.waves[0][0]].state != APPLIED
