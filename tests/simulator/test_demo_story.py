"""The demo's story: its beats are the library's scenarios at the demo's pace, about distinct
cabinets, each announced in a line that fits the 80-column view; the clock's fast night."""

from __future__ import annotations

import pytest

from aedfleet.simulator.clock import SimClock
from aedfleet.simulator.demo_fleet import demo_inventory, is_outdoor
from aedfleet.simulator.demo_story import (
    BEAT_WIDTH,
    PACES,
    beat_texts,
    cast,
    emergency_steps,
    scaled,
)  # fmt: skip
from aedfleet.simulator.scenario import Action, load_library


def test_the_emergency_is_the_emergency_opening_scenario_told_at_the_demo_pace() -> None:
    scenario = load_library()["emergency_opening"]
    steps = emergency_steps(scenario, scale=20)
    switches = [(a.name, a.value) for _, a in steps]
    assert switches == [("door", True), ("aed", False), ("door", False),
                        ("door", True), ("aed", True), ("door", False)]  # fmt: skip
    times = [at for at, _ in steps]
    assert times[0] == 0 and times == sorted(times)
    # the door opens again 40 min 30 s after it first did: 121.5 s at 20 times the speed
    assert times[3] == pytest.approx((40 * 60 + 30) / 20)


def test_scaling_keeps_what_holds_from_the_start_first() -> None:
    actions = [Action(0, "set", "heater_works", False), Action(120_000, "ramp", "outside_c", -20)]
    assert scaled(actions, 60) == [(0.0, actions[0]), (0.0, actions[1])]
    later = [Action(60_000, "set", "door", True), Action(180_000, "set", "door", False)]
    assert scaled(later, 60) == [(0.0, later[0]), (2.0, later[1])]


def test_each_beat_has_its_own_cabinet_and_the_cold_night_is_outdoors() -> None:
    cabinets = demo_inventory()
    the = cast(cabinets)
    assert the.emergency == cabinets[0]
    assert len({c.id for c in the}) == len(the)
    assert is_outdoor(the.night)


@pytest.mark.parametrize("pace", sorted(PACES))
def test_every_beat_is_announced_on_one_line_of_an_80_column_view(pace: str) -> None:
    texts = beat_texts(cast(demo_inventory()), PACES[pace], pads_days=20)
    assert {"pads", "emergency", "returned", "offline", "recovered", "night", "dawn"} <= set(texts)
    for name, text in texts.items():
        assert len(text) <= BEAT_WIDTH, (name, text)


def test_the_short_pace_tells_the_same_story_faster() -> None:
    day, short = PACES["day"], PACES["short"]
    assert short.emergency_at_s < day.emergency_at_s and short.repeat_s < day.repeat_s
    # the emergency lasts several repeats, so an unacknowledged alert is seen to repeat
    for pace in (day, short):
        assert 40 * 60 / pace.emergency_scale >= 3 * pace.repeat_s


class Real:
    def __init__(self) -> None:
        self.s = 0.0

    def __call__(self) -> float:
        return self.s


def test_the_clock_runs_fast_for_the_night_and_normally_again_never_going_back() -> None:
    real = Real()
    clock = SimClock(start_ms=0, monotonic=real)
    real.s = 10
    clock.set_speed(60)
    assert clock.elapsed_ms() == 10_000
    real.s = 11
    assert clock.elapsed_ms() == 70_000
    clock.set_speed(1)
    real.s = 12
    assert clock.elapsed_ms() == 71_000
    with pytest.raises(ValueError, match="positive"):
        clock.set_speed(0)
