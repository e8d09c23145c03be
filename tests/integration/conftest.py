"""One simulated fleet for the slow end-to-end tests: 200 cabinets, every scenario once,
through Mosquitto, the collector and InfluxDB (the simulation takes about 90 s; the tests that
read what it left share it)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from rich.console import Console

from aedfleet.services import InfluxDB
from aedfleet.simulator.simulation import Outcome, simulate


class SimulatedFleet(NamedTuple):
    outcome: Outcome
    workdir: Path  # InfluxDB's data, the SMS outbox and the logs stay here
    shown: str  # what `aedfleet simulate` printed


@pytest.fixture(scope="session")
def simulated_fleet(tmp_path_factory: pytest.TempPathFactory) -> SimulatedFleet:
    workdir = tmp_path_factory.mktemp("simulation") / "sim"
    shown = io.StringIO()
    outcome = simulate(cabinets=200, scenarios="all", seed=11, speed=60, workdir=workdir,
                       console=Console(file=shown, width=200))  # fmt: skip
    return SimulatedFleet(outcome, workdir, shown.getvalue())


@pytest.fixture(scope="module")
def influx(simulated_fleet: SimulatedFleet) -> Iterator[str]:
    """The simulation's InfluxDB, started again on its data."""
    database = InfluxDB(simulated_fleet.workdir / "influxdb")
    database.process.start()
    try:
        yield database.url
    finally:
        database.process.stop()
