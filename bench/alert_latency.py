"""Alert latency benchmark: door opening → SMS provider request, while the fleet floods: the
duty officer's request and the last of the nearby responders' (docs/responders.md).

10,000 cabinet ids stream telemetry as fast as one publisher process can send (QoS 1) through
the real Mosquitto into the real collector and InfluxDB; meanwhile one cabinet opens its door
every 0.5 s. Each opening is a new alert (the previous one is acknowledged and resolved), and
the time from its publish to the request reaching the local Twilio stand-in is measured. The
same openings without the flood, first, in the same run, are the baseline.
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
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from aedfleet.collector.clock import wall_ms
from aedfleet.collector.topics import topic_for
from aedfleet.services import LocalServices, running_services
from tests.support.fake_providers import FakeTwilio, twilio_collector_sections
from tests.support.harness import CollectorProcess, count, operator_client, wait_for

CABINET = "bz-bc-001"
DUTY = "+8613700000001"
# three responders 140, 222 and 334 m north of the cabinet (tests.support.harness puts every
# cabinet at 37.38, 117.97); re-texted at every opening: no rest time, a budget never reached
RESPONDERS = [(f"+86138123450{n:02d}", 37.38 + metres / 111_195.0) for n, metres in
              enumerate((140, 222, 334), start=1)]  # fmt: skip


def responders_file(path: Path) -> Path:
    lines = [
        "id,name,phone,certificate_no,certificate_expiry,lat,lon,available,consent_date,language"
    ]
    lines += [f"r{n},Responder {n},{phone},C{n},2030-01-01,{lat:.6f},117.97,24/7,2025-01-01,zh"
              for n, (phone, lat) in enumerate(RESPONDERS)]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def flood(services: LocalServices, stop: Path, cabinets: int) -> subprocess.Popen[bytes]:
    """A second process publishing `cabinets` cabinets' telemetry until `stop` exists."""
    # a harness account that may publish for any cabinet; its password in the environment,
    # not on the command line
    account = services.mosquitto.fleet_writer("flood")
    script = f"""
import os
from pathlib import Path
from typing import Any
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from tests.support.harness import cabinet_ids, telemetry_stream
from aedfleet.collector.clock import wall_ms
client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id={account!r})
client.username_pw_set({account!r}, os.environ["FLOOD_PASSWORD"])
client.max_inflight_messages_set(1000)
client.connect("{services.mosquitto.host}", {services.mosquitto.port})
client.loop_start()
stop = Path({str(stop)!r})
start_ms = wall_ms() - 86_400_000
sent = 0
while not stop.exists():
    batch = [client.publish(t, p, qos=1) for t, p in
             telemetry_stream(cabinet_ids({cabinets}), 1, start_ms + sent)]
    for info in batch:
        info.wait_for_publish(60)
    sent += len(batch)
print(sent, flush=True)
client.disconnect()
client.loop_stop()
"""
    env = {**os.environ, "FLOOD_PASSWORD": services.mosquitto.password(account)}
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)


class DoorCabinet:
    """One cabinet opening its door again and again; each opening is a new critical alert."""

    def __init__(
        self, services: LocalServices, twilio: FakeTwilio, collector: CollectorProcess
    ) -> None:
        self.client = operator_client(services, "door")
        self.client.loop_start()
        self.twilio = twilio
        self.api = f"http://127.0.0.1:{collector.http_port}"
        self.auth = {"Authorization": f"Bearer {collector.http_token}"}
        self.seq = 0

    def openings(self, count: int) -> tuple[list[float], list[float]]:
        """Milliseconds from each door_open's publish to the duty officer's SMS request, and
        to the last responder's."""
        duty_ms, responders_ms = [], []
        phones = {phone for phone, _ in RESPONDERS}
        for _ in range(count):
            before = len(self.twilio.requests)
            opened = time.monotonic()
            self.publish('"ev":"door_open"')

            def arrived(b: int = before) -> list[dict[str, Any]]:
                return [r for r in self.twilio.requests[b:] if r["to"] in phones | {DUTY}]

            wait_for(lambda: len(arrived()) >= len(phones) + 1, 30, "the SMS requests")
            duty_ms.append((next(r["at"] for r in arrived() if r["to"] == DUTY) - opened) * 1000)
            last = max(r["at"] for r in arrived() if r["to"] in phones)
            responders_ms.append((last - opened) * 1000)
            ack = {"cabinet": CABINET, "rule": "opened"}
            httpx.post(f"{self.api}/alerts/ack", json=ack, headers=self.auth).raise_for_status()
            self.publish('"ev":"door_close","open_s":1')
            time.sleep(0.5)  # the pace of the openings, one every half second or so
            wait_for(self.resolved, 30, "the opening resolved")
        return sorted(duty_ms), sorted(responders_ms)

    def resolved(self) -> bool:
        alerts = httpx.get(f"{self.api}/alerts").json()
        return not any(a["cabinet_id"] == CABINET and a["rule"] == "opened" for a in alerts)

    def publish(self, fields: str) -> None:
        self.seq += 1
        body = f'{{"v":1,"id":"{CABINET}",{fields},"seq":{self.seq},"ts":{wall_ms()},"sync":true}}'
        self.client.publish(topic_for(CABINET, "event"), body, qos=1).wait_for_publish(30)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def percentiles(latencies_ms: list[float]) -> tuple[float, float, float]:
    p99_index = min(len(latencies_ms) - 1, round(0.99 * (len(latencies_ms) - 1)))
    return statistics.median(latencies_ms), latencies_ms[p99_index], latencies_ms[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--openings", type=int, default=60)
    parser.add_argument("--cabinets", type=int, default=10_000, help="in the flood")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_services(Path(tmp) / "s") as services,
        FakeTwilio().running() as twilio,
    ):
        collector = CollectorProcess(
            services, Path(tmp) / "c", database="latency", ids=[CABINET],
            alerts={"tick_ms": 200, "opened_clear_s": 1, "repeat_critical_s": 3600},
            responders={"file": str(responders_file(Path(tmp) / "responders.csv")),
                        "rest_minutes": 0, "daily_budget": 1_000_000},
            **twilio_collector_sections(twilio.url, [DUTY]),
        )  # fmt: skip
        collector.process.start()
        stored = partial(count, services.influxdb.url, "latency", "telemetry")
        door = DoorCabinet(services, twilio, collector)
        quiet_ms, quiet_responders_ms = door.openings(args.openings)  # the baseline: no flood
        stop = Path(tmp) / "stop-flood"
        flooding = flood(services, stop, args.cabinets)
        try:
            wait_for(lambda: stored() > 0, 60, "the flood reaching InfluxDB")
            stored_before = stored()
            flood_ms, flood_responders_ms = door.openings(args.openings)
            stored_during = stored() - stored_before
        finally:
            stop.touch()
            try:
                stdout, _ = flooding.communicate(timeout=120)
            finally:
                flooding.kill()
        flooded = int(stdout.split()[0])
        door.close()
        collector.process.stop()
    print(f"door opening -> SMS provider request, {args.openings} openings each")
    table("duty officer", quiet_ms, flood_ms)
    table("last of 3 responders", quiet_responders_ms, flood_responders_ms)
    print("target: flooded p99 < 100 ms (duty officer), < 200 ms (last responder)")
    print(f"the flood: {flooded} telemetry messages from {args.cabinets:,} cabinets published, "
          f"{stored_during} stored during the flooded openings")  # fmt: skip


def table(title: str, quiet_ms: list[float], flood_ms: list[float]) -> None:
    print(f"{title:22}{'quiet':>10}{'flooded':>10}{'ratio':>8}")
    for name, quiet, flooded_ms in zip(
        ("p50", "p99", "max"), percentiles(quiet_ms), percentiles(flood_ms), strict=True
    ):
        print(f"{name:22}{quiet:8.1f}ms{flooded_ms:8.1f}ms{flooded_ms / quiet:8.2f}")


if __name__ == "__main__":
    main()
