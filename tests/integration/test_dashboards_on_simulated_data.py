"""Every dashboard query, with Grafana's macros substituted as Grafana substitutes them (a
panel with its own `timeFrom` over its own window), run against the real InfluxDB the
simulated fleet filled: each returns the rows the ops room must see (the opened cabinet in the
incidents, the expiring pads in the worklist, and so on), current state comes from the
collector's `cabinet_state` snapshot, and once the collector stops writing the current-state
panels go stale instead of staying green."""

from __future__ import annotations

import re
from typing import Any

import pytest

from aedfleet.dashboards import check
from aedfleet.dashboards.alert_rules import rules
from aedfleet.dashboards.boards.cabinet import PICKER_REGEX
from aedfleet.dashboards.check import PanelQuery
from aedfleet.dashboards.grafana_macros import ALL_VALUE, render
from aedfleet.dashboards.site import Site
from aedfleet.influx_query import query
from tests.integration.conftest import FLEET_SIZE, FLEET_TIMEOUT, SimulatedFleet

pytestmark = [pytest.mark.slow, pytest.mark.services, FLEET_TIMEOUT]
Results = dict[tuple[str, str, str], list[dict[str, Any]]]
FLEET = "aedfleet-fleet"
TABLE = "Readiness per cabinet, problems first"


def role(fleet: SimulatedFleet, scenario: str) -> str:
    return next(p.cabinet.id for p in fleet.outcome.plan if p.scenario.name == scenario)


def end_of(fleet: SimulatedFleet) -> int:
    return fleet.outcome.start_ms + fleet.outcome.simulated_ms + 60_000


_RUNS: dict[tuple[str, str, int], Results] = {}  # every query of every board, once per range


def run(fleet: SimulatedFleet, influx: str, cabinet: str, end_ms: int | None = None) -> Results:
    outcome = fleet.outcome
    # the dashboard's range set to the simulated hours (the simulation's clock ran ahead)
    end = end_of(fleet) if end_ms is None else end_ms
    key = (influx, cabinet, end)
    if key not in _RUNS:
        results: list[tuple[PanelQuery, list[dict[str, Any]]]] = check.run(
            influx, outcome.database, start_ms=outcome.start_ms, end_ms=end,
            variables={"cabinet": cabinet, "district": ALL_VALUE},
        )  # fmt: skip
        _RUNS[key] = {(q.dashboard, q.panel, q.ref_id): rows for q, rows in results}
    return _RUNS[key]


def by_cabinet(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {row["cabinet"]: row for row in rows}
    assert len(found) == len(rows), "one row per cabinet"
    return found


def test_fleet_overview(simulated_fleet: SimulatedFleet, influx: str) -> None:
    results = run(simulated_fleet, influx, role(simulated_fleet, "battery_drain"))
    cabinets = by_cabinet(results[(FLEET, "Where the AEDs are, coloured by readiness", "A")])
    assert len(cabinets) == FLEET_SIZE
    assert all(-90 <= row["lat"] <= 90 and row["name"] for row in cabinets.values())
    ajar = cabinets[role(simulated_fleet, "door_ajar")]
    assert (ajar["state"], ajar["reason"]) == ("not_ready", "door opened")  # the AED is inside
    assert cabinets[role(simulated_fleet, "emergency_opening")]["state"] == "not_ready"
    assert cabinets[role(simulated_fleet, "battery_drain")]["state"] == "not_ready"
    [counts] = results[(FLEET, "Cabinets by readiness", "A")]
    states = ("available", "in use (opened)", "not ready", "offline")
    assert sum(counts[s] for s in states) == FLEET_SIZE
    assert counts["available"] > FLEET_SIZE * 3 // 4
    assert counts["in use (opened)"] == 0 and counts["offline"] == 0  # zero reads 0
    over_time = results[(FLEET, "Fleet readiness over time", "A")]
    values = [row["mean"] for row in over_time]
    assert values and all(0 <= v <= 100 for v in values) and max(values) > 90
    table = by_cabinet(results[(FLEET, TABLE, "A")])
    assert len(table) == FLEET_SIZE
    drained = table[role(simulated_fleet, "battery_drain")]
    assert drained["batt_v"] < 11.8 and drained["problem"] == 1 and drained["level"] == "high"
    assert table[role(simulated_fleet, "cold_night")]["temp_c"] < 0
    assert table[role(simulated_fleet, "pads_expiring")]["pad_days"] == 20
    # last seen is the cabinet's own, not the range start: within a heartbeat of the end
    end = end_of(simulated_fleet)
    heartbeat_ms = 300_000
    assert all(end - heartbeat_ms * 2 < row["last_seen_ms"] <= end for row in table.values())
    assert len({row["last_seen_ms"] for row in table.values()}) > 100
    for title in ("Cabinet snapshots, last 5m", "Telemetry, last 5m"):
        [fresh] = results[(FLEET, title, "A")]
        assert next(v for k, v in fresh.items() if k != "time") > 0, title
    assert results[(FLEET, "Messages stored per interval", "A")]
    reasons = {r["reason"] for r in results[(FLEET, "Dead letters per interval", "A")]}
    assert "bad_json" in reasons  # the hostile cabinet's


def test_current_state_goes_stale_once_the_collector_stops_writing(
    simulated_fleet: SimulatedFleet, influx: str
) -> None:
    [newest] = query(influx, simulated_fleet.outcome.database,
                     'SELECT last("state") FROM "cabinet_state"')  # fmt: skip
    window_ms = 5 * 60_000  # Site().window
    assert Site().window == "5m"
    # the panels as Grafana renders them one window after the collector's last write
    later = run(simulated_fleet, influx, "", end_ms=newest["time"] + window_ms + 1)
    for key in ((FLEET, "Cabinet snapshots, last 5m", "A"),
                ("aedfleet-wall", "Collector writing", "A"),
                (FLEET, "Where the AEDs are, coloured by readiness", "A"),
                (FLEET, "Cabinets by readiness", "A"), (FLEET, TABLE, "A"),
                ("aedfleet-incidents", "Open alerts", "A")):  # fmt: skip
        assert later[key] == [], f"{key[1]} still shows data: the board would look alive"
    # and just before, while the collector still wrote, they were alive
    alive = run(simulated_fleet, influx, "", end_ms=newest["time"] + window_ms - 1000)
    assert alive[(FLEET, "Cabinet snapshots, last 5m", "A")][0]["snapshots"] > 0


def test_incidents(simulated_fleet: SimulatedFleet, influx: str) -> None:
    results = run(simulated_fleet, influx, "")
    incidents = "aedfleet-incidents"
    emergency, ajar = role(simulated_fleet, "emergency_opening"), role(simulated_fleet, "door_ajar")
    openings = {(r["cabinet"], r["ev"]) for r in results[(incidents, "Openings in the range", "A")]}
    assert {(emergency, "door_open"), (emergency, "aed_removed"), (ajar, "door_open")} <= openings
    timeline = results[(incidents, "Doors opened and AEDs removed", "A")]
    assert {(r["cabinet"], r["ev"]) for r in timeline} == openings
    assert {r["opening"] for r in timeline} == {1}  # one mark per opening, not its seq
    transitions = results[(incidents, "annotation: Alert transitions", "Anno")]
    assert any(r["cabinet"] == emergency and r["rule"] == "opened" and r["kind"] == "resolved"
               for r in transitions)  # fmt: skip
    open_alerts = by_cabinet(results[(incidents, "Open alerts", "A")])
    assert "aed_missing:" in open_alerts[emergency]["alert_text"]
    assert "opened:" not in open_alerts[emergency]["alert_text"]
    assert "opened: door opened" in open_alerts[ajar]["alert_text"]
    assert "door_ajar:" in open_alerts[ajar]["alert_text"] and open_alerts[ajar]["unacked"] == 2
    assert open_alerts[ajar]["level"] == "critical"
    assert "temperature:" in open_alerts[role(simulated_fleet, "cold_night")]["alert_text"]
    # an alert's own start, never the range's: a condition true from the first message (the
    # clock waits at the start until the fleet has booted) starts at the run's start itself
    assert all(r["alert_since_ms"] >= simulated_fleet.outcome.start_ms
               for r in open_alerts.values())  # fmt: skip
    sent = results[(incidents, "Notifications sent and failed", "A")]
    assert sum(r["count"] for r in sent if r["outcome"] == "sent") > 0


def test_cabinet_detail(simulated_fleet: SimulatedFleet, influx: str) -> None:
    drained = role(simulated_fleet, "battery_drain")
    results = run(simulated_fleet, influx, drained)
    detail = "aedfleet-cabinet"
    districts = {r["value"] for r in results[(detail, "variable: district", "var")]}
    assert len(districts) == 7
    choices = picked(results[(detail, "variable: cabinet", "var")])
    assert len(choices) == FLEET_SIZE and choices[drained].endswith(" AED")  # its name
    battery = [r["mean"] for r in results[(detail, "Backup battery", "A")]]
    assert battery[0] > 12.5 and battery[-1] < 11.8  # it drained over the run
    for panel in ("Temperature", "Wi-Fi signal", "Heater", "Reconnects since boot"):
        assert results[(detail, panel, "A")], panel
    switches = results[(detail, "Door, AED, mains and maintenance", "A")]
    mains = [r["mains power"] for r in switches if r["mains power"] is not None]
    assert mains[0] is True and mains[-1] is False  # the mains went, and stayed gone
    assert {r["rule"] for r in results[(detail, "Alert transitions", "A")]} == {"power"}
    assert {r["ev"] for r in results[(detail, "Events", "A")]} == {"boot", "mains_lost"}
    [readiness] = results[(detail, "Readiness", "A")]
    assert readiness["state"] == "not_ready" and readiness["name"]


def test_cabinet_picker_by_district(simulated_fleet: SimulatedFleet, influx: str) -> None:
    outcome = simulated_fleet.outcome
    drained = next(p.cabinet for p in outcome.plan if p.scenario.name == "battery_drain")
    picker = next(q for q in check.all_queries() if q.panel == "variable: cabinet")
    end = end_of(simulated_fleet)
    rendered = render(picker.influxql, start_ms=outcome.start_ms, end_ms=end,
                      variables={"district": drained.district})  # fmt: skip
    in_district = picked(query(influx, outcome.database, rendered))
    assert in_district[drained.id] == drained.name
    assert drained.id in in_district and len(in_district) < FLEET_SIZE
    assert {p.cabinet.id for p in outcome.plan if p.cabinet.district == drained.district} \
        == set(in_district)  # fmt: skip


def picked(rows: list[dict[str, Any]]) -> dict[str, str]:
    """The cabinet picker's options as Grafana makes them: the first value column of each row
    (the `label`) split by the variable's regex into value (the id) and text (the name)."""
    pattern = re.compile(PICKER_REGEX.strip("/").replace("(?<", "(?P<"))
    options = {}
    for row in rows:
        match = pattern.match(row["label"])
        assert match, row
        options[match["value"]] = match["text"]
    return options


def test_maintenance_worklist(simulated_fleet: SimulatedFleet, influx: str) -> None:
    results = run(simulated_fleet, influx, "")
    pads = results[("aedfleet-maintenance", "Pads expiring in the next 90 days", "A")]
    assert [(r["cabinet"], r["pad_days"]) for r in pads] == [
        (role(simulated_fleet, "pads_expiring"), 20)
    ]
    assert pads[0]["name"] and pads[0]["address"]
    batteries = results[("aedfleet-maintenance", "AED batteries expiring in the next 90 days", "A")]
    assert batteries == []  # no AED battery in the simulated fleet is due within 90 days


def test_wall_shows_problems_only(simulated_fleet: SimulatedFleet, influx: str) -> None:
    results = run(simulated_fleet, influx, "")
    wall = by_cabinet(results[("aedfleet-wall", "Cabinets that need someone", "A")])
    for scenario in ("battery_drain", "cold_night", "door_ajar", "emergency_opening"):
        assert role(simulated_fleet, scenario) in wall, scenario
    assert role(simulated_fleet, "pads_expiring") not in wall  # a warning, still available
    assert all(row["state"] != "available" or row["level"] in ("critical", "high")
               for row in wall.values())  # fmt: skip


def test_dead_man_rules_see_the_fleet_then_its_silence(
    simulated_fleet: SimulatedFleet, influx: str
) -> None:
    """Each provisioned Grafana alert rule's query over its own relative range, as Grafana
    evaluates it: data while the collector writes, none (noDataState: Alerting) after."""
    database = simulated_fleet.outcome.database
    [newest] = query(influx, database, 'SELECT last("state") FROM "cabinet_state"')
    [group] = rules(Site())["groups"]
    for rule in group["rules"]:
        source = rule["data"][0]
        influxql, window_ms = source["model"]["query"], source["relativeTimeRange"]["from"] * 1000
        [alive] = rule_rows(influx, database, influxql, window_ms, newest["time"])
        assert next(v for k, v in alive.items() if k != "time") > 0, rule["title"]
        later = newest["time"] + window_ms + 60_000
        assert rule_rows(influx, database, influxql, window_ms, later) == [], rule["title"]


def rule_rows(
    influx: str, database: str, influxql: str, window_ms: int, end_ms: int
) -> list[dict[str, Any]]:
    return query(influx, database, render(influxql, start_ms=end_ms - window_ms, end_ms=end_ms))
