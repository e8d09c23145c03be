"""The demo's story of an ops room's day, as data: which cabinet plays which beat, when each
beat starts, and how fast its scenario plays. Pure: no network, no clock.

The beats reuse the scenario library (aedfleet/simulator/scenarios/), so the demo's emergency
is the emergency_opening scenario, its cold night the cold_night scenario, its pads the
pads_expiring scenario: one definition each, played here at the demo's pace."""

from __future__ import annotations

from typing import Final, NamedTuple

from aedfleet.collector.inventory import Cabinet
from aedfleet.simulator.demo_fleet import is_outdoor
from aedfleet.simulator.scenario import Action, Scenario, timeline


class Pace(NamedTuple):
    """How long the demo's beats take, in real seconds (`scale`: simulated per real second)."""

    pads_at_s: float  # the morning round: an AED swap brings pads expiring within 30 days
    emergency_at_s: float
    emergency_scale: float  # the emergency's 40 minutes told this much faster
    repeat_s: int  # a critical alert unacknowledged repeats this often
    gap_s: float  # between the later beats
    offline_hold_s: int  # a lost cabinet is reported offline after this hold
    offline_for_s: float  # how long the dead board stays dead once reported offline
    night_speed: float  # the cold night's fast time: the clock's speed during that beat


PACES: Final = {
    # `make demo`: time to read, and to type the ack command in a second terminal
    "day": Pace(pads_at_s=15, emergency_at_s=60, emergency_scale=20, repeat_s=30, gap_s=15,
                offline_hold_s=10, offline_for_s=20, night_speed=60),
    # the tests' and the impatient visitor's: the whole day in about a minute
    "short": Pace(pads_at_s=1, emergency_at_s=4, emergency_scale=80, repeat_s=5, gap_s=3,
                  offline_hold_s=3, offline_for_s=5, night_speed=300),
}  # fmt: skip


class Cast(NamedTuple):
    """The cabinets the story is about."""

    emergency: Cabinet  # People's Hospital: a bystander takes its AED
    pads: Cabinet  # its AED is swapped for one whose pads expire soon
    offline: Cabinet  # its board dies and comes back
    night: Cabinet  # an outdoor cabinet whose heater fails on a cold night


def cast(cabinets: list[Cabinet]) -> Cast:
    """The first cabinet has the emergency; the first outdoor one the cold night; two others
    in between the pads and the lost board (all different cabinets)."""
    night = next((c for c in cabinets if is_outdoor(c)), cabinets[-1])
    others = [c for c in cabinets[1:] if c is not night]
    return Cast(cabinets[0], others[len(others) // 3], others[2 * len(others) // 3], night)


def scaled(actions: list[Action], scale: float) -> list[tuple[float, Action]]:
    """A scenario's later steps as (real seconds after its first step, action), `scale`
    times faster; what holds from the start (at 0) comes first at 0."""
    first = min((a.at_ms for a in actions if a.at_ms), default=0)
    return [(max(0, a.at_ms - first) / 1000 / scale if a.at_ms else 0.0, a) for a in actions]


def emergency_steps(scenario: Scenario, scale: float) -> list[tuple[float, Action]]:
    """The emergency opening's switches (door, AED), at the demo's pace."""
    return scaled([a for a in timeline(scenario) if a.kind == "set"], scale)


BEAT_WIDTH: Final = 72  # an 80-column line less the "+mm:ss " it starts with


def beat_texts(the: Cast, pace: Pace, pads_days: int) -> dict[str, str]:
    """What the "what happens" panel says as each beat starts (each at most BEAT_WIDTH)."""
    told = 40 * 60 / pace.emergency_scale
    return {
        "morning": "morning: the 80 cabinets report in; the ops room watches",
        "pads": f"{the.pads.id} gets a loan AED, pads expiring in {pads_days} days: worklist",
        "emergency": f"cardiac arrest nearby: a bystander takes the AED from {the.emergency.id}",
        "returned": f"the AED is back at {the.emergency.id} (40 min, told in {told:.0f} s): "
        "restock it",
        "offline": f"{the.offline.id} loses power: its board dies; the broker sends its last will",
        "offline_alert": f"{the.offline.id} is reported offline, after the {pace.offline_hold_s} s "
        "hold",
        "recovered": f"{the.offline.id} has power again: it boots, reports; offline clears",
        "night": f"cold night at {the.night.id} (outdoors), heater broken: fast time "
        f"x{pace.night_speed:g}",
        "dawn": f"dawn: normal time again; {the.night.id} needs its heater repaired",
        "end": "that was the day. The fleet goes on; Ctrl-C stops the demo",
    }
