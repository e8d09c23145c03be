"""When the collector itself loses the broker, the fleet must not look offline."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aedfleet.collector.clock import wall_ms
from aedfleet.collector.topics import topic_for
from aedfleet.services import LocalServices, running_services
from tests.support.fake_providers import FakeTwilio, twilio_collector_sections
from tests.support.harness import CollectorProcess, operator_client, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]
CABINETS = [f"bz-bc-{n:03d}" for n in range(1, 21)]
DUTY = "+8613700000001"


@pytest.fixture
def own_services(tmp_path: Path) -> Iterator[LocalServices]:
    with running_services(tmp_path / "services") as started:
        yield started


def heartbeat(services: LocalServices) -> None:
    client = operator_client(services, f"fleet-{time.time_ns()}")
    client.loop_start()
    for number, cabinet in enumerate(CABINETS):
        body = (f'{{"v":1,"id":"{cabinet}","state":"online","seq":{number},"ts":{wall_ms()},'
                f'"sync":true,"fw":"1.0.0"}}')  # fmt: skip
        client.publish(topic_for(cabinet, "status"), body, qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_no_offline_storm_when_the_collector_loses_the_broker(
    own_services: LocalServices, tmp_path: Path
) -> None:
    with FakeTwilio().running() as twilio:
        collector = CollectorProcess(
            own_services, tmp_path / "c", database="no_storm", ids=CABINETS,
            alerts={"tick_ms": 200, "heartbeat_s": 2, "missed_heartbeats": 2, "offline_hold_s": 1},
            **twilio_collector_sections(twilio.url, [DUTY], budget_per_hour=100),
        )  # fmt: skip
        collector.process.start()
        try:
            heartbeat(own_services)
            readiness = f"http://127.0.0.1:{collector.http_port}/readiness"

            def fleet_available() -> bool:
                states = httpx.get(readiness).json().values()
                return all(v["state"] == "available" for v in states)

            wait_for(fleet_available, 10, "the fleet available")
            # the broker goes away for three heartbeat windows: the cabinets are not at fault.
            # The fleet is watched the whole time, and must stay available throughout.
            own_services.mosquitto.process.stop()
            wait_for(lambda: not collector.health()["mqtt_connected"], 30, "the outage seen")
            outage_end = time.monotonic() + 3 * 2  # heartbeat_s = 2
            while time.monotonic() < outage_end:
                assert fleet_available()
                time.sleep(0.2)
            own_services.mosquitto.process.start()
            wait_for(lambda: collector.health()["mqtt_connected"], 30, "the collector back")
            heartbeat(own_services)  # the fleet reports in again after the outage
            # cabinets that stay silent once the collector is back are reported, once each
            alerts = f"http://127.0.0.1:{collector.http_port}/alerts"
            wait_for(lambda: len(httpx.get(alerts).json()) == len(CABINETS), 30, "offline")
            assert {a["rule"] for a in httpx.get(alerts).json()} == {"offline"}

            # and that is all: no storm during the outage (which would have fired and then
            # resolved on the heartbeat), one offline SMS per cabinet
            def to_duty() -> list[str]:
                return [r["body"] for r in twilio.delivered() if r["to"] == DUTY]

            wait_for(lambda: len(to_duty()) >= len(CABINETS), 30, "the offline SMS")
            bodies = to_duty()
            assert not any("RESOLVED" in b for b in bodies)
            assert sorted(c for c in CABINETS for b in bodies if c in b) == CABINETS
        finally:
            collector.process.stop()
