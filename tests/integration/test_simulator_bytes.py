"""The simulator speaks the firmware's protocol byte for byte: every message a simulated
cabinet puts on the wire is exactly what the firmware core, run by the real MicroPython unix
port, builds from the same fields."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
from functools import partial
from operator import contains
from pathlib import Path

import pytest

from aedfleet.firmware_tools import micropython_command, micropython_path
from aedfleet.services import LocalServices
from aedfleet.simulator.clock import SimClock
from aedfleet.simulator.environment import Environment
from aedfleet.simulator.scenario import Action
from aedfleet.simulator.simulated_cabinet import SimulatedCabinet
from tests.support.harness import Recorder, operator_client, until, wait_for

pytestmark = [pytest.mark.services, pytest.mark.micropython]
ROOT = Path(__file__).resolve().parents[2]
CABINET = "bz-bc-002"


EVENT_FOR = {("door", True): "door_open", ("aed", False): "aed_removed",
             ("aed", True): "aed_returned", ("door", False): "door_close",
             ("maint", True): "maint_enter", ("mains", False): "mains_lost",
             ("maint", False): "maint_exit"}  # fmt: skip


async def drive(services: LocalServices, workdir: Path, recorder: Recorder) -> None:
    clock = SimClock(speed=60)
    lines: list[str] = []
    cabinet = SimulatedCabinet(
        CABINET, broker=services.mosquitto.url, password=services.mosquitto.password(CABINET),
        data_dir=workdir, log=lines.append, clock=clock, telemetry_s=1,
        environment=Environment(random.Random(4), indoor=False, start_ms=clock.start_ms),
        pad_exp="2027-05-01", batt_exp="2028-01-31",
    )  # fmt: skip
    cabinet.start()
    await until(lambda: cabinet.connected, 30, "the cabinet connected")
    await cabinet.apply(Action(0, "ramp", "batt_v", 11.5, 120_000), "")
    for (switch, level), event in EVENT_FOR.items():
        cabinet.set(switch, level)
        # the firmware saw the change before the next one comes
        await until(partial(contains, lines, f"{CABINET} event: {event}"), 30, event)

    def telemetry_after_the_visit() -> bool:
        readings = recorder.payloads("/telemetry")
        return any(not t["maint"] and not t["mains"] for t in readings)

    await until(telemetry_after_the_visit, 30, "telemetry after the last switch")
    await cabinet.stop()  # cut without DISCONNECT: the broker sends the last will


def test_simulated_messages_are_the_firmware_cores_bytes(
    services: LocalServices, tmp_path: Path
) -> None:
    # the broker is shared: another test's run of this cabinet left its last will retained (CI
    # saw the wait below satisfied by it, the recorder closed before this run's will came)
    leftover = operator_client(services, "bytes-leftover")
    leftover.loop_start()
    leftover.publish(f"aed/v1/{CABINET}/status", json.dumps({"state": "offline"}), qos=1,
                     retain=True).wait_for_publish(5)  # fmt: skip
    leftover.loop_stop()
    leftover.disconnect()
    recorder = Recorder(services, f"aed/v1/{CABINET}/#", client_id="bytes-recorder")
    try:
        asyncio.run(drive(services, tmp_path / "cabinet", recorder))
        wait_for(lambda: any(p.get("state") == "offline"
                             for p in recorder.payloads("/status", live=True)),
                 30, "this run's last will")  # fmt: skip
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
