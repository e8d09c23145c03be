"""A connection's birth (`online`) takes the seq right after its will's: that is how the
collector tells this connection's will from a stale one of an earlier connection
(docs/protocol.md). Found by the demo: once the first telemetry was queued between the two,
the collector took a real will for a stale one and never reported the cabinet offline."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from aedfleet.services import LocalServices
from aedfleet.simulator.clock import SimClock
from aedfleet.simulator.environment import Environment
from aedfleet.simulator.simulated_cabinet import SimulatedCabinet
from tests.support.harness import Recorder, until

pytestmark = [pytest.mark.asyncio, pytest.mark.services]
CABINET = "bz-bc-002"


async def test_the_will_and_the_birth_of_a_connection_take_consecutive_seqs(
    services: LocalServices, tmp_path: Path
) -> None:
    recorder = Recorder(services, f"aed/v1/{CABINET}/status", client_id="birth-and-will")

    def live(state: str) -> list[dict[str, Any]]:
        # what the broker retained from an earlier run of this cabinet comes flagged retained
        found = [json.loads(p) for _t, _topic, p, retained in recorder.messages if not retained]
        return [m for m in found if m["state"] == state]

    clock = SimClock()
    cabinet = SimulatedCabinet(
        CABINET, broker=services.mosquitto.url, password=services.mosquitto.password(CABINET),
        data_dir=tmp_path, log=lambda _line: None, debounce_ms=10, poll_ms=5, clock=clock,
        environment=Environment(random.Random(1), indoor=True, start_ms=clock.start_ms),
    )  # fmt: skip
    try:
        cabinet.start()
        try:
            await until(lambda: bool(live("online")), 30, "the birth")
        finally:
            await cabinet.stop()  # no DISCONNECT: the broker publishes the last will
        await until(lambda: bool(live("offline")), 30, "the last will")
    finally:
        recorder.close()
    [birth], [will] = live("online"), live("offline")
    assert birth["seq"] == will["seq"] + 1
