"""Scenario files: every shipped one loads, composes and names only real rules, events and
rejection reasons; bad files are refused with the file and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from aedfleet.alerts.rules import RULES
from aedfleet.collector import protocol
from aedfleet.collector.validate import REJECTION_CODES
from aedfleet.simulator.scenario import (
    BASE,
    Action,
    Expect,
    Scenario,
    ScenarioError,
    compose,
    duration_ms,
    load_file,
    load_library,
    timeline,
)

ISSUE_SCENARIOS = {
    "normal_day", "emergency_opening", "door_ajar", "battery_drain", "pads_expiring",
    "cold_night", "wifi_flapping", "broker_restart", "hostile_messages", "clock_skew",
}  # fmt: skip
EVENT_NAMES = {tag for cls in get_args(protocol.Event) for tag in [cls.__struct_config__.tag]}


def test_durations_read_as_people_write_them() -> None:
    assert duration_ms("40m") == 2_400_000
    assert duration_ms("1h30m") == 5_400_000
    assert duration_ms("90s") == 90_000
    assert duration_ms("2d") == 172_800_000
    for bad in ("", "forty minutes", "5x", "-3m"):
        with pytest.raises(ScenarioError, match="not a duration"):
            duration_ms(bad)


def test_every_scenario_the_programme_asked_for_ships_and_is_sound() -> None:
    library = load_library()
    assert set(library) >= ISSUE_SCENARIOS
    for name, scenario in library.items():
        expect = scenario.expect
        assert scenario.description, name
        assert set(expect.alerts) <= set(RULES), name
        assert set(expect.open_at_end) <= set(expect.alerts), name
        assert set(expect.events) <= EVENT_NAMES, name
        assert set(expect.dead_letters) <= set(REJECTION_CODES), name
        assert expect.events.get("boot") == 1, f"{name} must include the normal day's boot"


def test_include_brings_the_base_steps_and_expectations_in() -> None:
    raw = {
        BASE: Scenario("base", name=BASE, duration="10m",
                       expect=Expect(events={"boot": 1})),
        "cold": Scenario("cold", name="cold", include=[BASE], outdoor=True, duration="45m",
                         expect=Expect(alerts=["temperature"])),
        "both": Scenario("both", name="both", include=["cold"], pads_expire_in_days=20,
                         expect=Expect(alerts=["expiring"], events={"boot": 1})),
    }  # fmt: skip
    both = compose("both", raw)
    assert both.expect.alerts == ["temperature", "expiring"]
    assert both.expect.events == {"boot": 1}
    assert both.outdoor and both.duration_ms == 45 * 60_000
    assert both.pads_expire_in_days == 20


def test_an_include_loop_and_an_unknown_include_are_refused() -> None:
    raw = {
        "a": Scenario("a", name="a", include=["b"]),
        "b": Scenario("b", name="b", include=["a"]),
        "c": Scenario("c", name="c", include=["nowhere"]),
    }
    with pytest.raises(ScenarioError, match="loop: a -> b -> a"):
        compose("a", raw)
    with pytest.raises(ScenarioError, match="no scenario 'nowhere'"):
        compose("c", raw)


def test_repeated_steps_expand_in_time_order() -> None:
    library = load_library()
    actions = timeline(library["wifi_flapping"])
    wifi = [(a.at_ms // 1000, a.value) for a in actions if a.name == "wifi"]
    assert len(wifi) == 48
    assert wifi[:4] == [(720, False), (760, True), (840, False), (880, True)]
    assert actions == sorted(actions, key=lambda a: a.at_ms)
    drain = timeline(library["battery_drain"])
    assert Action(300_000, "ramp", "batt_v", 11.3, 2_400_000) in drain


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('description = "x"\n[[steps]]\nat = "1m"\nset = { flux = true }\n', "cannot set 'flux'"),
        ('description = "x"\n[[steps]]\nat = "1m"\nramp = { door = 1.0 }\n', "cannot ramp"),
        ('description = "x"\n[[steps]]\nat = "soon"\n', "not a duration"),
        ('description = "x"\nalerts = ["opened"]\n', "unknown field"),
        ('description = "x"\n[[steps]]\nat = "1m"\npublish = ["virus"]\n', "Invalid enum"),
        ("description = \n", "Invalid"),
    ],
)
def test_a_bad_scenario_file_is_refused_with_its_name_and_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=reason) as refused:
        load_file(path)
    assert str(path) in str(refused.value)
