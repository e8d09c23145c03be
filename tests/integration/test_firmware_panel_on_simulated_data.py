"""The fleet overview's "Firmware versions over time" panel, its query run against the real
InfluxDB the simulated fleet filled (as Grafana would send it): every cabinet counted once
per interval under the version it runs, the version as the series' tag."""

from __future__ import annotations

import pytest

from aedfleet.dashboards import check
from aedfleet.dashboards.grafana_macros import ALL_VALUE
from aedfleet.simulator import firmware
from tests.integration.conftest import FLEET_SIZE, FLEET_TIMEOUT, SimulatedFleet

pytestmark = [pytest.mark.slow, pytest.mark.services, FLEET_TIMEOUT]
PANEL = ("aedfleet-fleet", "Firmware versions over time", "A")


def test_firmware_versions_over_time(simulated_fleet: SimulatedFleet, influx: str) -> None:
    outcome = simulated_fleet.outcome
    end_ms = outcome.start_ms + outcome.simulated_ms + 60_000
    results = check.run(
        influx, outcome.database, start_ms=outcome.start_ms, end_ms=end_ms,
        variables={"cabinet": outcome.plan[0].cabinet.id, "district": ALL_VALUE},
    )  # fmt: skip
    [rows] = [rows for q, rows in results if (q.dashboard, q.panel, q.ref_id) == PANEL]
    assert rows, "the panel has points"
    assert {row["fw"] for row in rows} == {firmware.config.FIRMWARE_VERSION}
    counts = [row["cabinets"] for row in rows]
    assert max(counts) == FLEET_SIZE, "a full interval counts every cabinet once"
    assert all(0 < count <= FLEET_SIZE for count in counts)
