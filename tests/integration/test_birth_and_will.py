"""A connection's birth (`online`) takes the seq right after its will's: that is how the
collector tells this connection's will from a stale one of an earlier connection
(docs/protocol.md). Found by the demo: once the first telemetry was queued between the two,
the collector took a real will for a stale one and never reported the cabinet offline."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from aedfleet.services import LocalServices
from aedfleet.simulator.clock import SimClock
from aedfleet.simulator.environment import Environment
from aedfleet.simulator.simulated_cabinet import SimulatedCabinet
from tests.support.harness import operator_client, until

pytestmark = [pytest.mark.asyncio, pytest.mark.services]
CABINET = "bz-bc-002"


async def test_the_will_and_the_birth_of_a_connection_take_consecutive_seqs(
    services: LocalServices, tmp_path: Path
) -> None:
    seen: list[dict[str, Any]] = []
    lock = threading.Lock()

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        with lock:
            seen.append(json.loads(message.payload))

    watcher = operator_client(services, "birth-and-will")
    watcher.on_message = on_message
    watcher.subscribe(f"aed/v1/{CABINET}/status", qos=1)
    watcher.loop_start()
    clock = SimClock()
    cabinet = SimulatedCabinet(
        CABINET, broker=services.mosquitto.url, password=services.mosquitto.password(CABINET),
        data_dir=tmp_path, log=lambda _line: None, debounce_ms=10, poll_ms=5, clock=clock,
        environment=Environment(random.Random(1), indoor=True, start_ms=clock.start_ms),
    )  # fmt: skip
    cabinet.start()
    try:
        await until(lambda: any(m["state"] == "online" for m in seen), 30, "the birth")
    finally:
        await cabinet.stop()  # no DISCONNECT: the broker publishes the last will
    await until(lambda: any(m["state"] == "offline" for m in seen), 30, "the last will")
    watcher.loop_stop()
    watcher.disconnect()
    birth = next(m for m in seen if m["state"] == "online")
    will = next(m for m in seen if m["state"] == "offline")
    assert birth["seq"] == will["seq"] + 1
