"""A redelivered opening never sends a second SMS: real Mosquitto, InfluxDB and collector, the
SMS provider checked locally. The cabinet's messages are published again byte for byte (same
`seq` and `ts`), as its outbox does after a lost PUBACK, and also across a collector restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from aedfleet.collector.clock import wall_ms
from aedfleet.collector.topics import topic_for
from aedfleet.services import LocalServices
from tests.support.fake_providers import FakeTwilio, twilio_collector_sections
from tests.support.harness import CollectorProcess, operator_client, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]
CAB = "bz-bc-015"
DUTY = "+8613700000015"
ALERTS = {"tick_ms": 200, "repeat_critical_s": 3600, "opened_clear_s": 1, "readiness_every_s": 60}


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio().running() as fake:
        yield fake


@pytest.fixture
def cabinet(services: LocalServices) -> Iterator[mqtt.Client]:
    client = operator_client(services, f"sim-{CAB}-{time.time_ns()}")
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def collector_for(services: LocalServices, workdir: Path, twilio: FakeTwilio) -> CollectorProcess:
    sections = twilio_collector_sections(twilio.url, [DUTY])
    return CollectorProcess(
        services, workdir, database="no_second_sms", ids=[CAB], alerts=ALERTS, **sections
    )


def opening(first_seq: int, at_ms: int) -> list[tuple[str, bytes]]:
    """online, door_open, door_close: the exact bytes a cabinet would send."""
    head = f'{{"v":1,"id":"{CAB}",'
    bodies = [
        ("status", f'"state":"online","seq":{first_seq},"ts":{at_ms},"sync":true,"fw":"1.0.0"}}'),
        ("event", f'"ev":"door_open","seq":{first_seq + 1},"ts":{at_ms + 1},"sync":true}}'),
        ("event", f'"ev":"door_close","seq":{first_seq + 2},"ts":{at_ms + 2},"sync":true,'
                  '"open_s":1}'),
    ]  # fmt: skip
    return [(topic_for(CAB, kind), (head + body).encode()) for kind, body in bodies]


def send(client: mqtt.Client, messages: list[tuple[str, bytes]]) -> None:
    for topic, payload in messages:
        client.publish(topic, payload, qos=1).wait_for_publish(5)


def redeliveries(collector: CollectorProcess) -> float:
    """How many messages the alert engine recognised as already folded."""
    name = "aedfleet_collector_alert_redeliveries_total "
    lines = [line for line in collector.metrics().splitlines() if line.startswith(name)]
    return float(lines[0].split()[1]) if lines else 0.0


def firing(twilio: FakeTwilio) -> list[str]:
    return [r["body"] for r in twilio.delivered()
            if "door opened" in r["body"] and "RESOLVED" not in r["body"]]  # fmt: skip


def resolved(twilio: FakeTwilio) -> list[str]:
    return [r["body"] for r in twilio.delivered() if "RESOLVED" in r["body"]]


def opened_and_resolved_once(client: mqtt.Client, twilio: FakeTwilio) -> list[tuple[str, bytes]]:
    original = opening(1, wall_ms())
    send(client, original)
    wait_for(lambda: len(resolved(twilio)) >= 2, 30, "the opening texted and resolved")
    assert len(firing(twilio)) == 2  # duty officer and guardian
    return original


def then_a_new_opening_is_texted(client: mqtt.Client, twilio: FakeTwilio) -> None:
    """A later, real opening on the same (ordered) connection: once it is texted, the
    redelivery sent before it was judged too."""
    send(client, opening(100, wall_ms())[1:])
    wait_for(lambda: len(firing(twilio)) >= 4, 30, "the new opening texted")


def test_a_redelivered_opening_after_its_resolution_sends_no_second_sms(
    services: LocalServices, twilio: FakeTwilio, cabinet: mqtt.Client, tmp_path: Path
) -> None:
    collector = collector_for(services, tmp_path, twilio)
    collector.process.start()
    try:
        original = opened_and_resolved_once(cabinet, twilio)
        send(cabinet, original)  # the same seq and ts again
        then_a_new_opening_is_texted(cabinet, twilio)
        assert len(firing(twilio)) == 4  # 2 for the first opening, 2 for the new one
        assert redeliveries(collector) >= 3
    finally:
        collector.process.stop()


def test_a_redelivery_across_a_collector_restart_sends_no_second_sms(
    services: LocalServices, twilio: FakeTwilio, cabinet: mqtt.Client, tmp_path: Path
) -> None:
    first = collector_for(services, tmp_path, twilio)
    first.process.start()
    try:
        original = opened_and_resolved_once(cabinet, twilio)
    finally:
        first.process.stop()
    second = collector_for(services, tmp_path, twilio)  # the same state directory
    second.process.start()
    try:
        send(cabinet, original)
        then_a_new_opening_is_texted(cabinet, twilio)
        assert len(firing(twilio)) == 4
        # the three re-sent, and any the broker redelivered itself after the first stopped
        assert redeliveries(second) >= 3
    finally:
        second.process.stop()
