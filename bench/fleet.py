"""Fleet benchmark: 10,000 simulated cabinets, each on its own MQTT connection with its own
account, client id and last will, heartbeating through the real Mosquitto.

Baseline, measured in the same run against the same broker and accounts: the same number of
bare MQTT connections (CONNECT with the cabinet's credentials and will, then PINGREQ at the
keepalive) that run no firmware. Printed: time to connect the whole fleet, CPU per second of
steady heartbeating (this process and Mosquitto), memory per cabinet, messages/s, errors, and
the ratios simulated / bare.

Run from the repository root: .venv/bin/python -m bench.fleet [--cabinets 10000] [--steady 60]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

from aedfleet.services import LocalServices, running_services
from aedfleet.simulator.clock import SimClock
from aedfleet.simulator.firmware import link, report
from aedfleet.simulator.fleet import CONNECTS_PER_S, FleetRunner
from aedfleet.simulator.plan import plan_fleet
from aedfleet.simulator.scenario import load_library
from tests.support.harness import Recorder

KEEPALIVE_S = 30
TELEMETRY_S = 60
POLL_MS = 5000  # the simulated board wakes at once on a switch change; this paces telemetry checks
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


class Phase(NamedTuple):
    connect_s: float
    cpu_per_s: float  # this process, CPU seconds per second of steady running
    broker_cpu_per_s: float
    rss_per_cabinet_kb: float
    messages: int
    errors: int


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


async def bare_fleet(services: LocalServices, ids: list[str], steady_s: float) -> Phase:
    """CONNECT, CONNACK, PINGREQ at the keepalive: what any MQTT device costs, no firmware."""
    broker_pid = services.mosquitto.process.pid
    assert broker_pid is not None
    rss_before, started = rss_kb(), time.monotonic()
    writers: list[asyncio.StreamWriter] = []
    errors = connected = 0

    async def cabinet(cabinet_id: str) -> None:
        """Connect, then ping at half the keepalive, as the firmware does."""
        nonlocal errors, connected
        will_topic, will = report.status("aed", cabinet_id, "offline", {}, 0, 0, False)
        try:
            reader, writer = await asyncio.open_connection(services.mosquitto.host,
                                                           services.mosquitto.port)  # fmt: skip
            writers.append(writer)
            writer.write(link.connect_packet(cabinet_id, KEEPALIVE_S, cabinet_id,
                                             services.mosquitto.password(cabinet_id),
                                             will_topic, will))  # fmt: skip
            if (await asyncio.wait_for(reader.readexactly(4), 30))[3] != 0:
                raise OSError("refused")
            connected += 1
            while True:
                await asyncio.sleep(KEEPALIVE_S / 2)
                writer.write(b"\xc0\x00")
                await asyncio.wait_for(reader.readexactly(2), KEEPALIVE_S)
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            errors += 1

    beats = []
    for index, cabinet_id in enumerate(ids):
        beats.append(asyncio.create_task(cabinet(cabinet_id)))
        if index % 50 == 49:
            await asyncio.sleep(50 / CONNECTS_PER_S)
    while connected + errors < len(ids):
        await asyncio.sleep(0.1)
    connect_s = time.monotonic() - started
    cpu0, broker0 = time.process_time(), cpu_s(broker_pid)
    await asyncio.sleep(steady_s)
    cpu, broker = time.process_time() - cpu0, cpu_s(broker_pid) - broker0
    rss = (rss_kb() - rss_before) / len(ids)
    for beat in beats:
        beat.cancel()
    for writer in writers:
        writer.write(b"\xe0\x00")  # DISCONNECT: no last wills from the baseline
        writer.close()
    await asyncio.gather(*beats, return_exceptions=True)
    return Phase(connect_s, cpu / steady_s, broker / steady_s, rss, 0, errors)


async def simulated_fleet(
    services: LocalServices, plan: list[Any], workdir: Path, steady_s: float
) -> Phase:
    broker_pid = services.mosquitto.process.pid
    assert broker_pid is not None
    rss_before, started = rss_kb(), time.monotonic()
    fleet = FleetRunner(plan, broker_url=services.mosquitto.url,
                        password_of=services.mosquitto.password, clock=SimClock(),
                        workdir=workdir, telemetry_s=TELEMETRY_S, keepalive_s=KEEPALIVE_S,
                        poll_ms=POLL_MS)  # fmt: skip
    await fleet.start()
    while (stats := fleet.stats()).connected < len(plan) and time.monotonic() - started < 600:
        await asyncio.sleep(1)
        print(
            f"  {time.monotonic() - started:5.0f} s: {stats.connected} connected, "
            f"{stats.errors} errors, {time.process_time():.0f} CPU s",
            flush=True,
        )
    connect_s = time.monotonic() - started
    before = fleet.stats()
    cpu0, broker0 = time.process_time(), cpu_s(broker_pid)
    await asyncio.sleep(steady_s)
    cpu, broker = time.process_time() - cpu0, cpu_s(broker_pid) - broker0
    after = fleet.stats()
    rss = (rss_kb() - rss_before) / len(plan)
    print(f"simulated fleet: {after.connected} of {after.cabinets} connected at the end")
    await fleet.stop()
    return Phase(connect_s, cpu / steady_s, broker / steady_s, rss,
                 after.delivered - before.delivered, after.errors)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cabinets", type=int, default=10_000)
    parser.add_argument("--steady", type=float, default=60.0, help="seconds of steady running")
    args = parser.parse_args()
    library = load_library()
    plan = plan_fleet(args.cabinets, [], library, seed=1, start_date=datetime.date.today())
    ids = [p.cabinet.id for p in plan]
    with tempfile.TemporaryDirectory(prefix="aedfleet-bench-fleet-") as tmp:
        workdir = Path(tmp)
        with running_services(workdir / "services", ids) as services:
            print("bare MQTT connections ...", flush=True)
            bare = asyncio.run(bare_fleet(services, ids, args.steady))
            print("simulated cabinets ...", flush=True)
            recorder = Recorder(services, "aed/v1/+/status", client_id="bench-status")
            simulated = asyncio.run(simulated_fleet(services, plan, workdir, args.steady))
            online = {p["id"] for p in recorder.payloads("/status") if p["state"] == "online"}
            recorder.close()
    print(f"\n{args.cabinets} cabinets, each its own connection and account; "
          f"{args.steady:.0f} s steady; telemetry every {TELEMETRY_S} s, "
          f"keepalive {KEEPALIVE_S} s")  # fmt: skip
    print(f"the broker saw {len(online)} distinct cabinets say online")
    rows = [
        ("connect the whole fleet (s)", bare.connect_s, simulated.connect_s),
        ("CPU of this process (s per s)", bare.cpu_per_s, simulated.cpu_per_s),
        ("CPU of Mosquitto (s per s)", bare.broker_cpu_per_s, simulated.broker_cpu_per_s),
        ("memory per cabinet (KiB)", bare.rss_per_cabinet_kb, simulated.rss_per_cabinet_kb),
    ]
    print(f"{'':34}{'bare MQTT':>12}{'simulated':>12}{'ratio':>8}")
    for name, baseline, measured in rows:
        ratio = measured / baseline if baseline else float("nan")
        print(f"{name:34}{baseline:12.3f}{measured:12.3f}{ratio:8.2f}")
    print(f"simulated messages acknowledged: {simulated.messages} "
          f"({simulated.messages / args.steady:.0f}/s); errors: bare {bare.errors}, "
          f"simulated {simulated.errors}")  # fmt: skip


if __name__ == "__main__":
    main()
