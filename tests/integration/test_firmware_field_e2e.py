"""The firmware against the real Mosquitto where the field breaks it: a retained config that is
JSON but no object, and a battery cabinet that must stay awake while someone is at it."""

from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path

import pytest

from aedfleet.services import LocalServices
from tests.firmware.esp32_board import DOOR_PIN, Esp32Cabinet
from tests.support.harness import FirmwareProcess, Recorder, wait_for

pytestmark = [pytest.mark.services, pytest.mark.micropython]
CABINET = "bz-bc-001"
AED_PIN = 26


def test_a_retained_config_that_is_no_object_leaves_the_link_working(
    services: LocalServices, tmp_path: Path
) -> None:
    recorder = Recorder(services, f"aed/v1/{CABINET}/#", client_id="list-config")
    topic = f"aed/v1/{CABINET}/config"
    recorder.client.publish(topic, b"[]", qos=1, retain=True).wait_for_publish(5)
    firmware = FirmwareProcess(
        tmp_path, id=CABINET, broker=services.mosquitto.url, username=CABINET,
        password=services.mosquitto.password(CABINET), keepalive_s=2, debounce_ms=10, poll_ms=5,
    )  # fmt: skip
    firmware.start()
    try:
        wait_for(lambda: recorder.events("boot"), 10, "the boot event")
        firmware.send("door 1")
        wait_for(lambda: recorder.events("door_open"), 10, "door_open after a [] config")
        assert firmware.log().count("link: connected") == 1, firmware.log()
        assert "config: not a JSON object, ignored" in firmware.log()
    finally:
        recorder.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        firmware.kill()
        recorder.close()


def test_a_battery_cabinet_stays_awake_while_the_door_is_open(
    services: LocalServices, tmp_path: Path
) -> None:
    # asleep with the door shut; the door wakes it, the AED is taken 2 s later and put back,
    # the door shut: all must go out while it is awake, not at the next heartbeat an hour on
    timeline = [
        [60_000, "pin", DOOR_PIN, 1],
        [62_000, "pin", AED_PIN, 1],
        [64_000, "pin", AED_PIN, 0],
        [65_000, "pin", DOOR_PIN, 0],
        [7_200_000, "end"],
    ]
    config = {
        "id": CABINET, "broker": services.mosquitto.url, "username": CABINET,
        "password": services.mosquitto.password(CABINET), "power": "battery",
        "heartbeat_s": 3600, "keepalive_s": 5, "connect_timeout_ms": 2000,
    }  # fmt: skip
    board = Esp32Cabinet(tmp_path, config, timeline)
    recorder = Recorder(services, f"aed/v1/{CABINET}/#", client_id="battery-door")
    try:
        assert board.start().returncode == 0, board.console()  # boots, sends, sleeps
        wake = board.start()  # woken by the door
        assert wake.returncode == 0, board.console()
        sleeps = board.events("deepsleep")
        assert len(sleeps) == 2
        assert sleeps[1]["at"] > 65_000, sleeps  # awake until the door was shut
        wait_for(lambda: recorder.events("door_close"), 10, "door_close before sleeping")
        events = [e["ev"] for e in recorder.payloads("/event")]
        assert events[-4:] == ["door_open", "aed_removed", "aed_returned", "door_close"], events
        # DISCONNECT went out before the radio did: the retained status stays `sleeping`,
        # not the last will's `offline`
        late = Recorder(services, f"aed/v1/{CABINET}/status", client_id="battery-late")
        try:
            wait_for(lambda: late.payloads("/status"), 10, "the retained status")
            assert late.payloads("/status")[-1]["state"] == "sleeping"
        finally:
            late.close()
    finally:
        recorder.close()


class SntpServer:
    """Answers SNTP queries on loopback with a fixed time: the stand-in ESP32 has no NTP pool
    to reach here (no network target but loopback)."""

    def __init__(self, unix_s: int) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.unix_s = unix_s
        self.queries = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                _query, client = self.socket.recvfrom(48)
            except OSError:
                return
            self.queries += 1
            answer = bytearray(48)
            answer[0] = 0x1C  # version 3, server
            answer[40:44] = struct.pack("!I", self.unix_s + 2_208_988_800)
            self.socket.sendto(bytes(answer), client)

    def close(self) -> None:
        self.socket.close()


def test_the_clock_is_set_by_one_sntp_query_over_the_async_socket(
    services: LocalServices, tmp_path: Path
) -> None:
    unix_s = 1_796_169_600  # 2026-12-02 00:00 UTC
    sntp = SntpServer(unix_s)
    config = {
        "id": CABINET, "broker": services.mosquitto.url, "username": CABINET,
        "password": services.mosquitto.password(CABINET), "ntp_host": "127.0.0.1",
        "ntp_port": sntp.port, "keepalive_s": 5, "telemetry_s": 1,
    }  # fmt: skip
    board = Esp32Cabinet(tmp_path, config, [[4000, "end"]])
    recorder = Recorder(services, f"aed/v1/{CABINET}/telemetry", client_id="sntp-recorder")
    try:
        assert board.start().returncode == 0, board.console()
        wait_for(lambda: any(t["sync"] for t in recorder.payloads("/telemetry")), 10, "synced")
        synced = [t for t in recorder.payloads("/telemetry") if t["sync"]]
        assert abs(synced[0]["ts"] - unix_s * 1000) < 10_000, synced[0]
        assert sntp.queries == 1
    finally:
        recorder.close()
        sntp.close()
