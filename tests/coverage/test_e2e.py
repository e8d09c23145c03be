"""Coverage end to end on the Binzhou demo data, with the real Mosquitto, InfluxDB and
collector (SMS through the local Twilio stand-in): the sole AED of a crowded place taken out
raises coverage_lost with the place's name and the nearest ready AED, and escalates the
cabinet's own alert naming the place; the AED back and restocked resolves both; and the
`coverage` points say what `aedfleet coverage report` prints for the same moment."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from aedfleet.cli import main
from aedfleet.collector.clock import wall_ms
from aedfleet.collector.inventory import write_inventory
from aedfleet.collector.topics import topic_for
from aedfleet.coverage.geo import haversine_m
from aedfleet.coverage.places import DEMO_PLACES, load_places
from aedfleet.influx_query import query
from aedfleet.services import LocalServices
from aedfleet.simulator.demo_fleet import demo_inventory
from tests.support.fake_providers import FakeTwilio, twilio_collector_sections
from tests.support.harness import (
    CollectorProcess,
    operator_client,
    rows_so_far,
    telemetry_payload,
    wait_for,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]
DUTY = "+8613700000001"
SOLE = "bz-bc-002"  # open 24/7, the only AED of the Railway Station and its forecourt
STATION = next(p for p in load_places(DEMO_PLACES) if p.name == "Bincheng Railway Station")
CABINETS = demo_inventory()
# the nearest other cabinet open round the clock: the alternative the SMS must name
NEIGHBOUR = min(
    (c for c in CABINETS if c.id != SOLE and c.access_hours == "24/7"),
    key=lambda c: haversine_m(c.lat, c.lon, STATION.lat, STATION.lon),
)
CST = datetime.timezone(datetime.timedelta(hours=8))


class Cabinet:
    """A cabinet's messages, published through the operator account with fresh clocks."""

    def __init__(self, services: LocalServices, cabinet_id: str) -> None:
        self.cabinet_id, self.seq = cabinet_id, 0
        self.client = operator_client(services, f"cov-{cabinet_id}-{time.time_ns()}")
        self.client.loop_start()

    def _publish(self, kind: str, payload: bytes) -> None:
        self.client.publish(topic_for(self.cabinet_id, kind), payload, qos=1).wait_for_publish(5)

    def online(self) -> None:
        self.seq += 1
        self._publish("status", (f'{{"v":1,"id":"{self.cabinet_id}","state":"online",'
                                 f'"seq":{self.seq},"ts":{wall_ms()},"sync":true,'
                                 '"fw":"1.0.0"}').encode())  # fmt: skip
        self.seq += 1
        self._publish("telemetry", telemetry_payload(self.cabinet_id, self.seq, wall_ms()))

    def event(self, name: str, extra: str = "") -> None:
        self.seq += 1
        self._publish("event", (f'{{"v":1,"id":"{self.cabinet_id}","ev":"{name}",'
                                f'"seq":{self.seq},"ts":{wall_ms()},"sync":true{extra}}}'
                                ).encode())  # fmt: skip

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _sms(twilio: FakeTwilio, text: str) -> list[str]:
    return [r["body"] for r in twilio.delivered() if text in r["body"] and r["to"] == DUTY]


def _alerts(collector: CollectorProcess, where: str) -> list[dict[str, object]]:
    select = f'SELECT "summary", "severity", "kind" FROM "alert" WHERE {where}'
    return rows_so_far(collector.influx_url, collector.database, select)


def test_sole_aed_taken_and_returned(services: LocalServices, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.csv"
    write_inventory(inventory, CABINETS)
    with FakeTwilio().running() as twilio:
        collector = CollectorProcess(
            services, tmp_path / "collector", database="coverage_e2e", ids=[SOLE],
            fleet={"inventory": str(inventory)}, coverage={"places": str(DEMO_PLACES)},
            alerts={"tick_ms": 200, "opened_clear_s": 1, "readiness_every_s": 1,
                    "aed_missing_after_s": 2, "resolve_hold_s": 1},
            **twilio_collector_sections(twilio.url, [DUTY]),
        )  # fmt: skip
        collector.process.start()
        sole, neighbour = Cabinet(services, SOLE), Cabinet(services, NEIGHBOUR.id)
        try:
            sole.online()
            neighbour.online()
            covered = (f'SELECT last("covered") FROM "coverage" WHERE "place" = '
                       f"'{STATION.id}'")  # fmt: skip

            def station_covered() -> bool | None:
                rows = rows_so_far(collector.influx_url, collector.database, covered)
                return bool(rows[0]["last"]) if rows else None

            wait_for(lambda: station_covered() is True, 30, "the station covered")
            sole.event("aed_removed")
            lost_text = f"{STATION.name}: no ready AED within 150 m"
            wait_for(lambda: _sms(twilio, lost_text), 30, "coverage_lost SMS")
            # one SMS per place: the forecourt, whose only AED this is too, has its own
            assert len(_sms(twilio, "no ready AED within 150 m")) == 2
            [lost] = _sms(twilio, lost_text)
            nearest = f"nearest ready: {NEIGHBOUR.name} ({NEIGHBOUR.id}), "
            assert lost.startswith(f"【AED】{STATION.name}: no ready AED within 150 m; {nearest}")
            wait_for(lambda: station_covered() is False, 30, "the station uncovered in InfluxDB")
            # the cabinet's own alerts: AED missing (high) escalated to critical, naming it
            wait_for(lambda: _alerts(collector, "\"rule\" = 'aed_missing'"), 30, "aed_missing")
            [missing] = _alerts(collector, "\"rule\" = 'aed_missing' AND \"kind\" = 'firing'")
            assert missing["severity"] == "critical"
            assert f"only AED of {STATION.name}" in str(missing["summary"])
            wait_for(lambda: _sms(twilio, f"AED not returned; only AED of {STATION.name}"), 30,
                     "the escalated SMS naming the place")  # fmt: skip
            [place_alert] = _alerts(collector, f"\"place\" = '{STATION.id}'")
            assert place_alert["kind"] == "firing" and place_alert["severity"] == "high"

            sole.event("aed_returned", ',"out_s":60')
            sole.event("maint_enter")
            sole.event("maint_exit", ',"dur_s":60')  # the technician restocks it
            # a used AED is back in service once restocked, and its alert resolves after the
            # resolve hold (1 s here, docs/alerts.md): until then the place stays uncovered
            wait_for(lambda: _sms(twilio, f"RESOLVED: {STATION.name} covered again"), 60,
                     "coverage_lost resolved")  # fmt: skip
            wait_for(lambda: _alerts(collector, "\"rule\" = 'aed_missing' AND \"kind\" = "
                                     "'resolved'"), 30, "aed_missing resolved")  # fmt: skip
            wait_for(lambda: station_covered() is True, 30, "the station covered again")
            _points_match_the_report(collector, inventory)
        finally:
            sole.close()
            neighbour.close()
            collector.process.stop()


def _points_match_the_report(collector: CollectorProcess, inventory: Path) -> None:
    """At one moment, the places the `coverage` points call covered are those the report
    prints as covered, and the fleet figures agree."""
    at_ms = (wall_ms() // 1000 + 1) * 1000  # a whole second (what --at takes) still to come
    # the collector writes every place each readiness heartbeat (1 s here): wait for one after
    wait_for(lambda: rows_so_far(collector.influx_url, collector.database,
                                 f'SELECT count("covered") FROM "coverage" WHERE time > '
                                 f"{at_ms}ms"), 30, "a heartbeat after the moment")  # fmt: skip
    places = query(collector.influx_url, collector.database,
                   'SELECT last("covered") AS "covered" FROM "coverage" WHERE "scope" = '
                   f"'place' AND time <= {at_ms}ms GROUP BY \"place\"")  # fmt: skip
    uncovered = {row["place"] for row in places if not row["covered"]}
    [fleet] = query(collector.influx_url, collector.database,
                    'SELECT last("covered_n") AS "covered", last("places") AS "places" FROM '
                    f"\"coverage\" WHERE \"scope\" = 'fleet' AND time <= {at_ms}ms")  # fmt: skip
    local = datetime.datetime.fromtimestamp(at_ms / 1000, CST)
    result = CliRunner().invoke(main, [
        "coverage", "report", "--influx-url", collector.influx_url, "--database",
        collector.database, "--inventory", str(inventory), "--at", f"{local:%Y-%m-%d %H:%M:%S}",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    table = {line.split()[0]: line.split()[1:] for line in result.output.splitlines()[3:11]}
    assert table["fleet"][:2] == [str(fleet["covered"]), str(fleet["places"])]
    listed = result.output.split("Uncovered places")[1].split("Sole cover")[0].splitlines()[1:]
    assert {line.split()[1] for line in listed if line.strip()} == uncovered
    assert STATION.id not in uncovered and len(places) == 145
