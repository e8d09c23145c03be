"""The coverage dashboard's queries, as Grafana sends them, on the InfluxDB the simulated
fleet filled with the collector's live `coverage` points (the Binzhou key places)."""

from __future__ import annotations

from typing import Any

import pytest

from aedfleet.coverage.places import DEMO_PLACES, load_places
from aedfleet.dashboards import check
from aedfleet.dashboards.boards.coverage import UID
from aedfleet.dashboards.grafana_macros import ALL_VALUE
from tests.integration.conftest import SimulatedFleet

pytestmark = [pytest.mark.slow, pytest.mark.services]


def _coverage_results(fleet: SimulatedFleet, influx: str) -> dict[str, list[dict[str, Any]]]:
    outcome = fleet.outcome
    end = outcome.start_ms + outcome.simulated_ms + 60_000
    results = check.run(influx, outcome.database, start_ms=outcome.start_ms, end_ms=end,
                        variables={"cabinet": "", "district": ALL_VALUE})  # fmt: skip
    return {f"{q.panel} [{q.ref_id}]": rows for q, rows in results if q.dashboard == UID}


def test_coverage_dashboard(simulated_fleet: SimulatedFleet, influx: str) -> None:
    results = _coverage_results(simulated_fleet, influx)
    places = {p.id: p for p in load_places(DEMO_PLACES)}
    on_map = {row["place"]: row for row in results["Key places, covered or not [A]"]}
    assert set(on_map) == set(places)
    assert all(row["covered_n"] in (0, 1) and row["lat"] == places[pid].lat
               for pid, row in on_map.items())  # fmt: skip
    assert all(row["cabinet"] for row in on_map.values())  # a nearest ready AED for each
    uncovered = {row["place"] for row in results["Key places with no ready AED in reach [A]"]}
    assert uncovered == {pid for pid, row in on_map.items() if row["covered_n"] == 0}
    assert uncovered and all(row["name"] for row in results[
        "Key places with no ready AED in reach [A]"])  # fmt: skip
    [now] = results["Key places covered now (fleet) [A]"]
    covered = len(on_map) - len(uncovered)
    assert now["places covered"] == pytest.approx(100 * covered / len(on_map), abs=0.01)
    over_time = results["Key places covered per district (%) [A]"]
    assert {row["district"] for row in over_time} == {p.district for p in places.values()}
    assert all(0 <= row["mean"] <= 100 for row in over_time)
    assert results["Key places covered per district (%) [B]"]
