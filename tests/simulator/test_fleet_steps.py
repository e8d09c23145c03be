"""The fleet runner carries out each scenario step at its simulated time and holds the clock
there until the firmware took it; a step the firmware never takes is reported, not hidden, and
the clock goes on."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from aedfleet.services import DEFAULT_CABINETS, LocalServices, free_port
from aedfleet.simulator import fleet
from aedfleet.simulator.clock import SimClock
from aedfleet.simulator.fleet import FleetRunner
from aedfleet.simulator.plan import choose, plan_fleet
from aedfleet.simulator.scenario import load_library
from tests.support.harness import until

pytestmark = pytest.mark.asyncio
LIBRARY = load_library()


def fleet_of(tmp_path: Path, names: str, clock: SimClock, **firmware: Any) -> FleetRunner:
    plan = plan_fleet(2, choose(LIBRARY, names), LIBRARY, seed=2,
                      start_date=datetime.date(2026, 12, 1))  # fmt: skip
    # no broker listens: the steps reach the firmware all the same, its outbox holds the rest
    return FleetRunner(plan, broker_url=f"mqtt://127.0.0.1:{free_port()}",
                       password_of=lambda _cabinet: "x", clock=clock, workdir=tmp_path,
                       telemetry_s=60, poll_ms=1000, **firmware)  # fmt: skip


async def test_every_switch_of_an_emergency_reaches_the_firmware_even_at_a_great_speed(
    tmp_path: Path,
) -> None:
    # 50 simulated minutes in half a second: each door and AED state lasts far less than the
    # firmware's 50 ms debounce at full speed, so the clock waits at each step instead
    clock = SimClock(speed=6000)
    running = fleet_of(tmp_path, "emergency_opening", clock)
    await running.start()
    try:
        await until(lambda: clock.elapsed_ms() > 45 * 60_000, 60, "the scenario played out")
    finally:
        await running.stop()
    ((player, timeline),) = running.timelines().items()
    assert timeline.steps == timeline.done == 6 and timeline.honoured
    log = (tmp_path / "fleet.log").read_text(encoding="utf-8").splitlines()
    events = [line.split("event: ")[1] for line in log if f"{player} event: " in line]
    assert events == ["boot", "door_open", "aed_removed", "door_close",
                      "door_open", "aed_returned", "door_close"]  # fmt: skip


async def test_a_switch_the_firmware_never_takes_leaves_its_timeline_not_honoured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fleet, "STEP_TIMEOUT_S", 0.3)
    clock = SimClock(speed=6000)
    # the longest debounce the firmware accepts, a second: within the step's 0.3 s the
    # firmware cannot take the door
    running = fleet_of(tmp_path, "door_ajar", clock, debounce_ms=1000)
    await running.start()
    try:
        await until(lambda: clock.elapsed_ms() > 10 * 60_000, 60, "the clock going on")
    finally:
        await running.stop()
    (timeline,) = running.timelines().values()
    assert (timeline.steps, timeline.done, timeline.honoured) == (1, 0, False)
    assert timeline.worst_s >= 0.3
    assert "not taken in time" in (tmp_path / "fleet.log").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.services
async def test_every_wifi_flap_reaches_the_firmware_as_a_reconnect_at_ten_times_the_speed(
    tmp_path: Path, services: LocalServices
) -> None:
    # 24 Wi-Fi returns 2 simulated minutes apart: 12 real seconds at 600x, less than the
    # firmware's reconnect backoff can follow, so the clock waits at each until it reconnected
    plan = plan_fleet(2, choose(LIBRARY, "wifi_flapping"), LIBRARY, seed=2,
                      start_date=datetime.date(2026, 12, 1))  # fmt: skip
    plan = [p._replace(cabinet=msgspec.structs.replace(p.cabinet, id=cabinet_id))
            for p, cabinet_id in zip(plan, DEFAULT_CABINETS, strict=False)]  # fmt: skip
    clock = SimClock(speed=600)
    running = FleetRunner(plan, broker_url=services.mosquitto.url,
                          password_of=services.mosquitto.password, clock=clock,
                          workdir=tmp_path, telemetry_s=60, poll_ms=1000)  # fmt: skip
    flapping = next(p.cabinet.id for p in plan if p.scenario.name == "wifi_flapping")
    await running.start()
    try:
        await until(lambda: clock.elapsed_ms() > 60 * 60_000, 120, "the flaps played out")
        assert running.cabinets[flapping].app.reconnects == 24
    finally:
        await running.stop()
    timeline = running.timelines()[flapping]
    assert timeline.steps == timeline.done == 48
