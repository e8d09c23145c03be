"""The simulator speaks the firmware's protocol byte for byte: every message a simulated
cabinet puts on the wire is exactly what the firmware core, run by the real MicroPython unix
port, builds from the same fields."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
from pathlib import Path

import pytest

from aedfleet.firmware_tools import micropython_command, micropython_path
from aedfleet.services import LocalServices
from aedfleet.testing import Recorder, wait_for
from simulator.cabinet import SimulatedCabinet
from simulator.clock import SimClock
from simulator.environment import Environment
from simulator.scenario import Action

pytestmark = [pytest.mark.services, pytest.mark.micropython]
ROOT = Path(__file__).resolve().parents[2]
CABINET = "bz-bc-002"


async def drive(services: LocalServices, workdir: Path) -> None:
    clock = SimClock(speed=60)
    cabinet = SimulatedCabinet(
        CABINET, broker=services.mosquitto.url, password=services.mosquitto.password(CABINET),
        data_dir=workdir, log=lambda _line: None, clock=clock, telemetry_s=1,
        environment=Environment(random.Random(4), indoor=False, start_ms=clock.start_ms),
        pad_exp="2027-05-01", batt_exp="2028-01-31",
    )  # fmt: skip
    cabinet.start()
    while not cabinet.connected:
        await asyncio.sleep(0.05)
    await cabinet.apply(Action(0, "ramp", "batt_v", 11.5, 120_000), "")
    for switch, level in [("door", True), ("aed", False), ("aed", True), ("door", False),
                          ("maint", True), ("mains", False), ("maint", False)]:  # fmt: skip
        cabinet.set(switch, level)
        await asyncio.sleep(0.3)
    await asyncio.sleep(2.5)  # telemetry goes out every second
    await cabinet.stop()  # cut without DISCONNECT: the broker sends the last will


def test_simulated_messages_are_the_firmware_cores_bytes(
    services: LocalServices, tmp_path: Path
) -> None:
    recorder = Recorder(services, f"aed/v1/{CABINET}/#", client_id="bytes-recorder")
    try:
        asyncio.run(drive(services, tmp_path / "cabinet"))
        wait_for(lambda: any(p.get("state") == "offline" for p in recorder.payloads("/status")),
                 10, "the last will")  # fmt: skip
    finally:
        recorder.close()
    live = [(topic, payload) for _t, topic, payload, retained in recorder.messages if not retained]
    kinds = {topic.rsplit("/", 1)[1] for topic, _p in live}
    events = {json.loads(p).get("ev") for topic, p in live if topic.endswith("/event")}
    states = {json.loads(p).get("state") for topic, p in live if topic.endswith("/status")}
    assert kinds == {"event", "telemetry", "status"}
    assert {"boot", "door_open", "aed_removed", "aed_returned", "door_close",
            "maint_enter", "mains_lost", "maint_exit"} <= events  # fmt: skip
    assert states == {"online", "offline"}
    fields = tmp_path / "fields.jsonl"
    fields.write_text("".join(
        json.dumps({"topic": topic, "body": json.loads(payload)}) + "\n" for topic, payload in live
    ))  # fmt: skip
    rebuilt = subprocess.run(
        [micropython_command(), "tests/firmware/rebuild_messages.py", str(fields)],
        cwd=ROOT, env={**os.environ, "MICROPYPATH": micropython_path()},
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert rebuilt == [f"{topic} {payload.hex()}" for topic, payload in live]
