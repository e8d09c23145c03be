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

from aedfleet.services import InfluxDB
from aedfleet.simulator import DEFAULT_SPEED
from aedfleet.simulator.simulation import Outcome, simulate

FLEET_SIZE = 2000
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
                       workdir=workdir, console=Console(file=shown, width=200))  # fmt: skip
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
