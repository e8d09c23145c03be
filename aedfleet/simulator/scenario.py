"""Scenarios as data: one TOML file each under aedfleet/simulator/scenarios/, composable with
`include`, each stating what the cabinet does over simulated time and which alerts, events
and dead letters the collector must end up with. Pure: loading, merging and expanding into a
timeline of actions involve no network and no clock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Final, Literal, NamedTuple

import msgspec

SCENARIO_DIR: Final = Path(__file__).parent / "scenarios"
BASE: Final = "normal_day"
SWITCHES: Final = ("door", "aed", "maint", "mains", "tamper")
FLAGS: Final = ("wifi", "heater_works", "sensor_works", "synced")
READINGS: Final = ("outside_c", "batt_v", "rssi_dbm")
SETTABLE: Final = (*SWITCHES, *FLAGS, *READINGS, "skew_days")
_DURATION: Final = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNIT_MS: Final = (86_400_000, 3_600_000, 60_000, 1000)

Hostile = Literal[
    "malformed", "oversized", "not_utf8", "spoofed_id", "spoofed_topic", "unknown_event",
    "future_ts",
]  # fmt: skip


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message names the file and the problem."""


def duration_ms(text: str) -> int:
    """'40m', '1h30m', '90s', '2d' -> milliseconds."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise ScenarioError(f"{text!r} is not a duration like 40m, 1h30m, 90s or 2d")
    return sum(int(part or 0) * unit for part, unit in zip(match.groups(), _UNIT_MS, strict=True))


class Step(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    at: str
    set: dict[str, bool | float] = {}
    ramp: dict[str, float] = {}
    over: str = "0s"
    publish: list[Hostile] = []
    broker: Literal["restart"] | None = None
    repeat: int = 1
    every: str = "0s"


class Expect(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    alerts: list[str] = []  # the rules that fire for the cabinet: exactly these
    open_at_end: list[str] = []  # of those, the ones still open when the run ends
    events: dict[str, int] = {}  # events stored for the cabinet: exactly these counts
    dead_letters: list[str] = []  # rejection reasons kept for the cabinet: exactly these


class Scenario(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    description: str
    name: str = ""
    include: list[str] = []
    cabinets: int = 1  # how many cabinets play it in a fleet
    duration: str = "0s"  # simulated time the scenario needs to play out
    outdoor: bool = False  # played by a cabinet outside (weather reaches it)
    pads_expire_in_days: int | None = None
    aed_battery_expires_in_days: int | None = None
    steps: list[Step] = []
    expect: Expect = Expect()

    @property
    def duration_ms(self) -> int:
        return duration_ms(self.duration)


class Action(NamedTuple):
    """One thing that happens to a cabinet at a moment of simulated time."""

    at_ms: int
    kind: Literal["set", "ramp", "publish", "broker"]
    name: str
    value: bool | float | str = 0
    over_ms: int = 0


def _check(scenario: Scenario, where: str) -> None:
    for step in scenario.steps:
        for key in step.set:
            if key not in SETTABLE:
                raise ScenarioError(f"{where}: cannot set {key!r}; settable: {', '.join(SETTABLE)}")
        for key in step.ramp:
            if key not in READINGS:
                raise ScenarioError(
                    f"{where}: cannot ramp {key!r}; readings: {', '.join(READINGS)}"
                )
        if step.repeat < 1:
            raise ScenarioError(f"{where}: repeat must be at least 1")
        for text in (step.at, step.over, step.every):
            _duration_in(text, where)
    if scenario.cabinets < 0:
        raise ScenarioError(f"{where}: cabinets must not be negative")
    _duration_in(scenario.duration, where)


def _duration_in(text: str, where: str) -> None:
    try:
        duration_ms(text)
    except ScenarioError as error:
        raise ScenarioError(f"{where}: {error}") from error


def load_file(path: Path) -> Scenario:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        scenario = msgspec.convert(raw, Scenario)
    except (OSError, tomllib.TOMLDecodeError, msgspec.ValidationError) as error:
        raise ScenarioError(f"{path}: {error}") from error
    scenario = msgspec.structs.replace(scenario, name=path.stem)
    _check(scenario, str(path))
    return scenario


def load_library(*directories: Path) -> dict[str, Scenario]:
    """Every scenario file in the directories (later ones override by name), composed."""
    raw: dict[str, Scenario] = {}
    for directory in (SCENARIO_DIR, *directories):
        for path in sorted(directory.glob("*.toml")):
            raw[path.stem] = load_file(path)
    return {name: compose(name, raw) for name in raw}


def compose(name: str, raw: dict[str, Scenario], seen: tuple[str, ...] = ()) -> Scenario:
    """The scenario with its includes merged in: their steps first, expectations combined
    (alerts and dead letters united, event counts overridden by the including scenario)."""
    if name in seen:
        raise ScenarioError(f"scenario include loop: {' -> '.join((*seen, name))}")
    if name not in raw:
        raise ScenarioError(f"no scenario {name!r}; known: {', '.join(sorted(raw))}")
    own = raw[name]
    parts = [compose(included, raw, (*seen, name)) for included in own.include] + [own]
    events: dict[str, int] = {}
    for part in parts:
        events.update(part.expect.events)

    def united(field: str) -> list[str]:
        return list(dict.fromkeys(x for part in parts for x in getattr(part.expect, field)))

    def last(field: str) -> int | None:
        values = [getattr(p, field) for p in parts if getattr(p, field) is not None]
        return values[-1] if values else None

    return msgspec.structs.replace(
        own,
        include=[],
        duration=f"{max(p.duration_ms for p in parts) // 1000}s",
        outdoor=any(p.outdoor for p in parts),
        pads_expire_in_days=last("pads_expire_in_days"),
        aed_battery_expires_in_days=last("aed_battery_expires_in_days"),
        steps=[step for part in parts for step in part.steps],
        expect=Expect(united("alerts"), united("open_at_end"), events, united("dead_letters")),
    )


def timeline(scenario: Scenario) -> list[Action]:
    """The scenario's steps as actions in time order (stable for equal times)."""
    actions: list[Action] = []
    for step in scenario.steps:
        start, every, over = duration_ms(step.at), duration_ms(step.every), duration_ms(step.over)
        for index in range(step.repeat):
            at = start + index * every
            actions += [Action(at, "set", key, value) for key, value in step.set.items()]
            actions += [Action(at, "ramp", key, v, over) for key, v in step.ramp.items()]
            actions += [Action(at, "publish", kind) for kind in step.publish]
            if step.broker is not None:
                actions.append(Action(at, "broker", step.broker, over_ms=over))
    return sorted(actions, key=lambda action: action.at_ms)
