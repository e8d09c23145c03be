"""Alert latency benchmark: door opening → SMS provider request, while the fleet floods.

10,000 cabinet ids stream telemetry as fast as one publisher process can send (QoS 1) through
the real Mosquitto into the real collector and InfluxDB; meanwhile one cabinet opens its door
every 0.5 s. Each opening is a new alert (the previous one is acknowledged and resolved), and
the time from its publish to the request reaching the local Twilio stand-in is measured.
Events travel on the collector's own event connection, so they never queue behind telemetry.

Run from the repository root: .venv/bin/python -m bench.alert_latency [--openings 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from aedfleet.services import LocalServices, running_services
from aedfleet.testing import CollectorProcess, count, operator_client, wait_for
from collector.clock import wall_ms
from collector.topics import topic_for
from tests.fake_providers import FakeTwilio, twilio_collector_sections

CABINET = "bz-bc-001"


def flood(services: LocalServices, seconds: float) -> subprocess.Popen[bytes]:
    """A second process publishing 10,000 cabinets' telemetry for `seconds`."""
    # a harness account that may publish for any cabinet; its password in the environment,
    # not on the command line
    account = services.mosquitto.fleet_writer("flood")
    script = f"""
import itertools, os, time
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from aedfleet.testing import cabinet_ids, telemetry_stream
from collector.clock import wall_ms
client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id={account!r})
client.username_pw_set({account!r}, os.environ["FLOOD_PASSWORD"])
client.max_inflight_messages_set(1000)
client.connect("{services.mosquitto.host}", {services.mosquitto.port})
client.loop_start()
end = time.monotonic() + {seconds}
start_ms = wall_ms() - 86_400_000
sent = 0
while time.monotonic() < end:
    batch = [client.publish(t, p, qos=1) for t, p in
             itertools.islice(telemetry_stream(cabinet_ids(10_000), 1, start_ms + sent), 10_000)]
    for info in batch:
        info.wait_for_publish(60)
    sent += len(batch)
print(sent, flush=True)
client.disconnect()
client.loop_stop()
"""
    env = {**os.environ, "FLOOD_PASSWORD": services.mosquitto.password(account)}
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)


def opened_alert(api: str) -> bool:
    """The door's alert is still open (the flooding cabinets have alerts of their own)."""
    alerts = httpx.get(f"{api}/alerts").json()
    return any(a["cabinet_id"] == CABINET and a["rule"] == "opened" for a in alerts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--openings", type=int, default=60)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_services(Path(tmp) / "s") as services,
        FakeTwilio().running() as twilio,
    ):
        collector = CollectorProcess(
            services, Path(tmp) / "c", database="latency", ids=[CABINET],
            alerts={"tick_ms": 200, "opened_clear_s": 1, "repeat_critical_s": 3600},
            **twilio_collector_sections(twilio.url, ["+8613700000001"]),
        )  # fmt: skip
        collector.process.start()
        door = operator_client(services, "door")
        door.loop_start()
        flooding = flood(services, seconds=args.openings * 2.5 + 15)
        time.sleep(5)  # the flood is in full swing
        api = f"http://127.0.0.1:{collector.http_port}"
        latencies_ms = []
        for number in range(args.openings):
            before = len(twilio.requests)
            opened = time.monotonic()
            body = f'"seq":{2 * number},"ts":{wall_ms()},"sync":true'
            open_event = f'{{"v":1,"id":"{CABINET}","ev":"door_open",{body}}}'
            door.publish(topic_for(CABINET, "event"), open_event, qos=1)
            wait_for(lambda b=before: len(twilio.requests) > b, 30, "the SMS request")
            latencies_ms.append((twilio.requests[before]["at"] - opened) * 1000)
            httpx.post(f"{api}/alerts/ack", json={"cabinet": CABINET, "rule": "opened"},
                       headers={"Authorization": f"Bearer {collector.http_token}"})  # fmt: skip
            close = f'"seq":{2 * number + 1},"ts":{wall_ms()},"sync":true,"open_s":1'
            close_event = f'{{"v":1,"id":"{CABINET}","ev":"door_close",{close}}}'
            door.publish(topic_for(CABINET, "event"), close_event, qos=1)
            time.sleep(0.5)
            wait_for(lambda: not opened_alert(api), 10, "the alert resolved")
        stdout, _ = flooding.communicate(timeout=120)
        flooded = int(stdout.split()[0])
        stored = count(services.influxdb.url, "latency", "telemetry")
        door.disconnect()
        door.loop_stop()
        collector.process.stop()
    latencies_ms.sort()
    p99_index = min(len(latencies_ms) - 1, round(0.99 * (len(latencies_ms) - 1)))
    print(f"door opening -> SMS provider request, {len(latencies_ms)} openings, while")
    print(f"{flooded} telemetry messages from 10,000 cabinets flowed ({stored} stored)")
    print(f"  p50 {statistics.median(latencies_ms):7.1f} ms")
    print(f"  p99 {latencies_ms[p99_index]:7.1f} ms   (target < 100 ms)")
    print(f"  max {latencies_ms[-1]:7.1f} ms")


if __name__ == "__main__":
    main()
