"""Every dashboard query, with Grafana's macros substituted as Grafana substitutes them, run
against the real InfluxDB the simulated fleet filled: each returns the rows the ops room must
see (the opened cabinet in the incidents, the expiring pads in the worklist, and so on)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aedfleet.services import InfluxDB
from dashboards import check
from dashboards.check import PanelQuery
from tests.integration.conftest import SimulatedFleet

pytestmark = [pytest.mark.slow, pytest.mark.services]
Results = dict[tuple[str, str, str], list[dict[str, Any]]]


def role(fleet: SimulatedFleet, scenario: str) -> str:
    return next(p.cabinet.id for p in fleet.outcome.plan if p.scenario.name == scenario)


@pytest.fixture(scope="module")
def influx(simulated_fleet: SimulatedFleet) -> Iterator[str]:
    """The simulation's InfluxDB, started again on its data."""
    database = InfluxDB(simulated_fleet.workdir / "influxdb")
    database.process.start()
    try:
        yield database.url
    finally:
        database.process.stop()


def run(fleet: SimulatedFleet, influx: str, cabinet: str) -> Results:
    outcome = fleet.outcome
    # the dashboard's range set to the simulated hours (the simulation's clock ran ahead)
    start, end = outcome.start_ms, outcome.start_ms + outcome.simulated_ms + 60_000
    results: list[tuple[PanelQuery, list[dict[str, Any]]]] = check.run(
        influx, outcome.database, start_ms=start, end_ms=end, variables={"cabinet": cabinet}
    )
    return {(q.dashboard, q.panel, q.ref_id): rows for q, rows in results}


def by_cabinet(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["cabinet"]: row for row in rows}


def test_fleet_overview(simulated_fleet: SimulatedFleet, influx: str) -> None:
    results = run(simulated_fleet, influx, role(simulated_fleet, "battery_drain"))
    fleet = "aedfleet-fleet"
    cabinets = by_cabinet(results[(fleet, "Where the AEDs are, coloured by readiness", "A")])
    assert len(cabinets) == 200
    assert all(-90 <= row["lat"] <= 90 and row["name"] for row in cabinets.values())
    ajar = cabinets[role(simulated_fleet, "door_ajar")]
    assert (ajar["state"], ajar["reason"]) == ("not_ready", "door opened")  # the AED is inside
    assert cabinets[role(simulated_fleet, "emergency_opening")]["state"] == "not_ready"
    assert cabinets[role(simulated_fleet, "battery_drain")]["state"] == "not_ready"
    counts = {ref: rows[0]["cabinets"] if rows else 0 for (d, panel, ref), rows in results.items()
              if panel == "Cabinets by readiness"}  # fmt: skip
    assert sum(counts.values()) == 200 and counts["A"] > 150  # A: available
    over_time = results[(fleet, "Fleet readiness over time", "A")]
    values = [row["mean"] for row in over_time]
    assert values and all(0 <= v <= 100 for v in values) and max(values) > 90
    table = {ref: by_cabinet(results[(fleet, "Readiness per cabinet", ref)]) for ref in "ABCD"}
    drained = role(simulated_fleet, "battery_drain")
    assert table["B"][drained]["backup battery"] < 11.8
    assert table["B"][role(simulated_fleet, "cold_night")]["temperature"] < 0
    assert table["D"][role(simulated_fleet, "pads_expiring")]["days to pad expiry"] == 20
    assert all(len(table[ref]) == 200 for ref in "ABCD")


def test_incidents(simulated_fleet: SimulatedFleet, influx: str) -> None:
    results = run(simulated_fleet, influx, "")
    incidents = "aedfleet-incidents"
    emergency, ajar = role(simulated_fleet, "emergency_opening"), role(simulated_fleet, "door_ajar")
    openings = {(r["cabinet"], r["ev"]) for r in results[(incidents, "Openings in the range", "A")]}
    assert {(emergency, "door_open"), (emergency, "aed_removed"), (ajar, "door_open")} <= openings
    timeline = results[(incidents, "Doors opened and AEDs removed", "A")]
    assert {(r["cabinet"], r["ev"]) for r in timeline} == openings
    transitions = results[(incidents, "annotation: Alert transitions", "Anno")]
    assert any(r["cabinet"] == emergency and r["rule"] == "opened" and r["kind"] == "resolved"
               for r in transitions)  # fmt: skip
    open_alerts = {(r["cabinet"], r["rule"]) for r in results[(incidents, "Open alerts", "A")]}
    assert (emergency, "aed_missing") in open_alerts and (emergency, "opened") not in open_alerts
    assert (ajar, "opened") in open_alerts and (ajar, "door_ajar") in open_alerts
    assert (role(simulated_fleet, "cold_night"), "temperature") in open_alerts
    sent = results[(incidents, "Notifications sent and failed", "A")]
    assert sum(r["count"] for r in sent if r["outcome"] == "sent") > 0


def test_cabinet_detail(simulated_fleet: SimulatedFleet, influx: str) -> None:
    drained = role(simulated_fleet, "battery_drain")
    results = run(simulated_fleet, influx, drained)
    detail = "aedfleet-cabinet"
    choices = {r["value"] for r in results[(detail, "variable: cabinet", "var")]}
    assert len(choices) == 200 and drained in choices
    battery = [r["mean"] for r in results[(detail, "Backup battery", "A")]]
    assert battery[0] > 12.5 and battery[-1] < 11.8  # it drained over the run
    for panel in ("Temperature", "Wi-Fi signal", "Heater", "Reconnects since boot"):
        assert results[(detail, panel, "A")], panel
    assert {r["rule"] for r in results[(detail, "Alerts", "A")]} == {"power"}
    assert {r["ev"] for r in results[(detail, "Events", "A")]} == {"boot", "mains_lost"}
    assert results[(detail, "Readiness", "A")][0]["last"] == "not_ready"


def test_maintenance_worklist(simulated_fleet: SimulatedFleet, influx: str) -> None:
    results = run(simulated_fleet, influx, "")
    pads = results[("aedfleet-maintenance", "Pads expiring in the next 90 days", "A")]
    assert [(r["cabinet"], r["pad_days"]) for r in pads] == [
        (role(simulated_fleet, "pads_expiring"), 20)
    ]
    batteries = results[("aedfleet-maintenance", "AED batteries expiring in the next 90 days", "A")]
    assert batteries == []  # no AED battery in the simulated fleet is due within 90 days
