"""The simulated world the cabinet's sensors read, with the firmware's own heater control."""

from __future__ import annotations

import random

from aedfleet.simulator.clock import SimClock
from aedfleet.simulator.environment import Environment
from aedfleet.simulator.firmware import cabinet as firmware_cabinet

MIN = 60_000
MIDNIGHT_LOCAL = 1_795_881_600_000  # 2026-11-29 00:00 China Standard Time


def night(environment: Environment, minutes: int) -> list[int | None]:
    """Readings every 5 simulated minutes, the heater run by the firmware's hysteresis."""
    heater = firmware_cabinet.Heater(50, 100)
    on = False
    readings = []
    for minute in range(0, minutes, 5):
        reading = environment.temperature_dc(MIDNIGHT_LOCAL + minute * MIN, on)
        on = heater.update(reading)
        readings.append(reading)
    return readings


def outdoor() -> Environment:
    return Environment(random.Random(3), indoor=False, start_ms=MIDNIGHT_LOCAL, mean_c=2.0)


def test_a_working_heater_keeps_an_outdoor_cabinet_out_of_the_frost() -> None:
    environment = outdoor()
    environment.ramp("outside_c", -15.0, MIDNIGHT_LOCAL, MIDNIGHT_LOCAL + 30 * MIN)
    readings = night(environment, 8 * 60)
    assert all(r is not None and r > 0 for r in readings)


def test_with_the_heater_failed_a_cold_snap_freezes_the_cabinet() -> None:
    environment = outdoor()
    environment.heater_works = False
    environment.ramp("outside_c", -15.0, MIDNIGHT_LOCAL, MIDNIGHT_LOCAL + 30 * MIN)
    readings = night(environment, 3 * 60)
    assert readings[-1] is not None and readings[-1] < -100  # below -10 °C


def test_an_indoor_cabinet_stays_at_room_temperature() -> None:
    environment = Environment(random.Random(3), indoor=True, start_ms=MIDNIGHT_LOCAL)
    assert all(r is not None and 195 <= r <= 215 for r in night(environment, 24 * 60))


def test_the_battery_drains_along_its_ramp_and_a_dead_sensor_reads_nothing() -> None:
    environment = outdoor()
    start = MIDNIGHT_LOCAL + 5 * MIN
    environment.ramp("batt_v", 11.3, start, start + 40 * MIN)
    assert environment.battery_mv(start) == 12800
    assert environment.battery_mv(start + 20 * MIN) == 12050
    assert environment.battery_mv(start + 90 * MIN) == 11300
    environment.sensor_works = False
    assert environment.temperature_dc(start, False) is None


def test_the_same_seed_reads_the_same_values() -> None:
    def signal(seed: int) -> list[int]:
        environment = Environment(random.Random(seed), indoor=True, start_ms=MIDNIGHT_LOCAL)
        return [environment.rssi(MIDNIGHT_LOCAL + m * MIN) for m in range(50)]

    assert signal(5) == signal(5)
    assert signal(5) != signal(6)
    assert all(-80 < value < -50 for value in signal(5))


def test_the_simulated_clock_runs_at_its_speed() -> None:
    now = [100.0]
    clock = SimClock(speed=60, start_ms=MIDNIGHT_LOCAL, monotonic=lambda: now[0])
    now[0] += 2.5  # real seconds
    assert clock.elapsed_ms() == 150_000
    assert clock.now_ms() == MIDNIGHT_LOCAL + 150_000
    assert clock.real_s(40 * MIN) == 40.0
