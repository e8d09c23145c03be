"""The firmware under the real MicroPython unix port against the real Mosquitto."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aedfleet.collector.clock import wall_ms
from aedfleet.collector.validate import Rejection, Validator
from aedfleet.services import LocalServices, free_port, running_services
from tests.support.harness import FirmwareProcess, Recorder, wait_for

pytestmark = [pytest.mark.services, pytest.mark.micropython]
CABINET = "bz-bc-001"
TOPICS = f"aed/v1/{CABINET}/#"


def firmware_config(services: LocalServices, **extra: Any) -> dict[str, Any]:
    return {
        "id": CABINET,
        "broker": services.mosquitto.url,
        "username": CABINET,
        "password": services.mosquitto.password(CABINET),
        "debounce_ms": 10,
        "poll_ms": 5,
        "keepalive_s": 2,
        "connect_timeout_ms": 1000,
        "outbox_capacity": 1000,
        **extra,
    }


def door_events(recorder: Recorder) -> list[dict[str, Any]]:
    return [e for e in recorder.payloads("/event") if e["ev"] in ("door_open", "door_close")]


def all_valid(recorder: Recorder) -> None:
    """Every message the firmware published is valid protocol v1."""
    validator = Validator()
    for _at, topic, payload, _retain in recorder.messages:
        if topic.endswith("/config"):
            continue
        result = validator.validate(topic, payload, wall_ms())
        assert not isinstance(result, Rejection), (topic, payload, result)


@pytest.fixture
def own_services(tmp_path: Path) -> Iterator[LocalServices]:
    with running_services(tmp_path / "services") as started:
        yield started


@pytest.fixture
def recorder(services: LocalServices) -> Iterator[Recorder]:
    started = Recorder(services, TOPICS)
    yield started
    started.close()


def test_door_open_and_close_arrive_in_order(
    services: LocalServices, recorder: Recorder, tmp_path: Path
) -> None:
    # how fast a door event travels is measured by bench.alert_latency, not asserted here
    firmware = FirmwareProcess(tmp_path, **firmware_config(services))
    firmware.start()
    try:
        wait_for(lambda: recorder.payloads("/status"), 30, "the birth message")
        assert recorder.payloads("/status")[-1]["state"] == "online"
        wait_for(lambda: recorder.events("boot"), 30, "the boot event")
        opened_at = time.monotonic()
        firmware.send("door 1")
        wait_for(lambda: recorder.events("door_open"), 30, "door_open")
        arrival = next(at for at, topic, p, _r in recorder.messages if b"door_open" in p)
        assert arrival >= opened_at
        firmware.send("door 0")
        wait_for(lambda: recorder.events("door_close"), 30, "door_close")
        all_valid(recorder)
    finally:
        firmware.kill()


def test_killed_firmware_leaves_a_retained_offline(services: LocalServices, tmp_path: Path) -> None:
    firmware = FirmwareProcess(tmp_path, **firmware_config(services))
    watcher = Recorder(services, TOPICS, client_id="will-watcher")
    firmware.start()
    try:
        wait_for(lambda: watcher.payloads("/status"), 10, "the birth message")
    finally:
        firmware.kill()
    watcher.close()
    # the broker notices the silence after 1.5 keepalives and publishes the will
    late = Recorder(services, f"aed/v1/{CABINET}/status", client_id="late-joiner")
    try:
        wait_for(
            lambda: any(p.get("state") == "offline" for p in late.payloads("/status")),
            10,
            "the retained offline status",
        )
        assert all(retain for _at, _t, _p, retain in late.messages)
    finally:
        late.close()


@pytest.mark.slow
def test_twenty_openings_while_the_broker_is_down_arrive_once_in_order(
    own_services: LocalServices, tmp_path: Path
) -> None:
    firmware = FirmwareProcess(tmp_path / "fw", **firmware_config(own_services))
    firmware.start()
    try:
        first = Recorder(own_services, TOPICS, client_id="before")
        wait_for(lambda: first.events("boot"), 10, "the boot event")
        first.close()
        own_services.mosquitto.process.stop()
        firmware.send("pulse 20")
        wait_for(lambda: firmware.log().count("event: door_close") == 20, 30, "20 closings")
        own_services.mosquitto.process.start()
        recorder = Recorder(own_services, TOPICS, client_id="after")

        def door() -> list[dict[str, Any]]:
            return door_events(recorder)

        wait_for(lambda: len(door()) >= 40, 30, "40 door events")
        # a duplicate would come before a later opening, which the firmware sends after them
        firmware.send("pulse 1")
        wait_for(lambda: len(door()) >= 42, 30, "the later opening")
        events = door()[:40]
        assert len(door()) == 42
        assert [e["ev"] for e in events] == ["door_open", "door_close"] * 20
        sequence = [e["seq"] for e in events]
        assert sequence == sorted(sequence) and len(set(sequence)) == 40
        all_valid(recorder)
        recorder.close()
    finally:
        firmware.kill()


@pytest.mark.slow
def test_500_persisted_events_are_all_delivered_in_order_after_a_restart(
    services: LocalServices, tmp_path: Path
) -> None:
    offline = firmware_config(services, broker=f"mqtt://127.0.0.1:{free_port()}")
    firmware = FirmwareProcess(tmp_path, **offline)
    firmware.start()
    firmware.send("pulse 250")
    wait_for(lambda: firmware.log().count("event: door_close") == 250, 60, "500 events")
    firmware.kill()
    recorder = Recorder(services, TOPICS, client_id="restart-recorder")
    online = FirmwareProcess(tmp_path, **firmware_config(services))
    online.start()
    try:

        def door() -> list[dict[str, Any]]:
            return door_events(recorder)

        wait_for(lambda: len(door()) >= 500, 60, "500 door events")
        events = door()
        assert len(events) == 500
        sequence = [e["seq"] for e in events]
        assert sequence == sorted(sequence)
        assert [e["ev"] for e in events] == ["door_open", "door_close"] * 250
        all_valid(recorder)
    finally:
        online.kill()
        recorder.close()


@pytest.mark.slow
def test_a_frozen_broker_is_noticed_and_left_behind_after_it_thaws(
    own_services: LocalServices, tmp_path: Path
) -> None:
    firmware = FirmwareProcess(tmp_path / "fw", **firmware_config(own_services))
    firmware.start()
    try:
        wait_for(lambda: "link: connected" in firmware.log(), 10, "the first connection")
        own_services.mosquitto.process.signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        wait_for(lambda: "link: lost the broker" in firmware.log(), 10, "the firmware noticing")
        # keepalive 2 s: silence for 1.5 keepalives, plus one read timeout at most
        assert time.monotonic() - frozen_at < 2 * 1.5 + 2
        own_services.mosquitto.process.signal(signal.SIGCONT)
        wait_for(lambda: firmware.log().count("link: connected") >= 2, 30, "a reconnection")
        recorder = Recorder(own_services, TOPICS, client_id="after-thaw")
        firmware.send("door 1")
        wait_for(lambda: recorder.events("door_open"), 10, "door_open after the thaw")
        recorder.close()
    finally:
        firmware.kill()


def test_server_config_is_applied_and_confirmed(
    services: LocalServices, recorder: Recorder, tmp_path: Path
) -> None:
    firmware = FirmwareProcess(tmp_path, **firmware_config(services))
    firmware.start()
    config = {"v": 1, "id": CABINET, "rev": 7, "ts": wall_ms(), "tele_s": 60,
              "pad_exp": "2027-03-01"}  # fmt: skip
    try:
        wait_for(lambda: recorder.events("boot"), 10, "the boot event")
        recorder.client.publish(
            f"aed/v1/{CABINET}/config", json.dumps(config), qos=1, retain=True
        ).wait_for_publish(5)
        wait_for(lambda: recorder.events("config_applied"), 10, "config_applied")
        assert recorder.events("config_applied")[0]["rev"] == 7
        # applying a config restarts the telemetry schedule: a report follows at once
        wait_for(
            lambda: any(t.get("pad_exp") == "2027-03-01" for t in recorder.payloads("/telemetry")),
            10,
            "telemetry with the configured pad expiry",
        )
    finally:
        recorder.client.publish(f"aed/v1/{CABINET}/config", b"", qos=1, retain=True)
        firmware.kill()
