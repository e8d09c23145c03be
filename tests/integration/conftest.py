"""One simulated fleet for the slow end-to-end tests: 2,000 cabinets, every scenario once, at
the default speed, through Mosquitto, the collector and InfluxDB (about 2.5 minutes of both
cores on the 2-core reference machine); the verdict test and the dashboards' queries share
it, so the suite plays the fleet once."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from rich.console import Console

from aedfleet.collector.clock import wall_ms
from aedfleet.collector.config import FleetConfig
from aedfleet.services import InfluxDB
from aedfleet.simulator import DEFAULT_SPEED
from aedfleet.simulator.simulation import Outcome, simulate

FLEET_SIZE = 2000
# the simulated hours start at 10:00 China time (of today, or of yesterday before then): a run
# that crossed China's midnight (a start between 14:00 and 16:00 UTC) counted the pads' days to
# expiry from the next day, and the dashboards showed 19 where the scenario says 20
DAY_MS = 86_400_000
START_HOUR_MS = 10 * 3_600_000


def simulated_start_ms(now_ms: int) -> int:
    offset_ms = FleetConfig().utc_offset_minutes * 60_000
    local_midnight = (now_ms + offset_ms) // DAY_MS * DAY_MS - offset_ms
    start = local_midnight + START_HOUR_MS
    return start if start <= now_ms else start - DAY_MS


# the first test to ask for the fleet waits for the whole simulation
FLEET_TIMEOUT = pytest.mark.timeout(900)


class SimulatedFleet(NamedTuple):
    outcome: Outcome
    workdir: Path  # InfluxDB's data, the SMS outbox and the logs stay here
    shown: str  # what `aedfleet simulate` printed


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test of the simulated fleet waits for its verdict, which measures whether the machine
    kept up: it runs with the serial tests, alone (see the Makefile)."""
    for item in items:
        if "simulated_fleet" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.serial)


@pytest.fixture(scope="session")
def simulated_fleet(tmp_path_factory: pytest.TempPathFactory) -> SimulatedFleet:
    workdir = tmp_path_factory.mktemp("simulation") / "sim"
    shown = io.StringIO()
    outcome = simulate(cabinets=FLEET_SIZE, scenarios="all", seed=3, speed=DEFAULT_SPEED,
                       workdir=workdir, console=Console(file=shown, width=200),
                       start_ms=simulated_start_ms(wall_ms()))  # fmt: skip
    return SimulatedFleet(outcome, workdir, shown.getvalue())


@pytest.fixture(scope="session")
def influx(simulated_fleet: SimulatedFleet) -> Iterator[str]:
    """The simulation's InfluxDB, started again on its data, once for every module that reads
    it (they only query)."""
    database = InfluxDB(simulated_fleet.workdir / "influxdb")
    database.process.start()
    try:
        yield database.url
    finally:
        database.process.stop()
