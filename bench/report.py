"""Monthly report benchmark: `aedfleet report` for a fleet of 10,000 cabinets over 30 days.

A month of what the collector stores is written straight into a fresh InfluxDB. Readiness at
the collector's real rate: a `readiness_change` point for every cabinet at each collector
start (one before the month, a restart mid-month) and at every change (a use, an outage);
the uses' events, alerts and SMS; `device` points for the last days. Thinned, since the
report only aggregates them inside InfluxDB: `telemetry` and the ops room's `cabinet_state`
snapshots every --heartbeat-h hours (the collector writes them every minute). Then, each in
its own process: the report as the product makes it (PDF), and as a baseline the naive way
(pull every `cabinet_state` snapshot of the month and fold them in Python; at the real
one-minute heartbeat that would be 360 times the points written here), and the report's
readiness figures alone (from `readiness_change`). Printed: wall time and peak memory of
each, and the ratios to the baseline.

Run from the repository root: .venv/bin/python -m bench.report [--cabinets 10000] [--days 30]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx

from aedfleet.report.period import DAY_MS, Month
from aedfleet.services import running_services

MONTH = Month.parse("2026-11")
HOUR_MS = 3_600_000
DISTRICTS = ("Bincheng", "Boxing", "Huimin", "Yangxin", "Wudi", "Zhanhua", "Zouping")
BATCH = 20_000

# one child process each: prints its wall seconds and peak RSS (KiB) as the last line
REPORT = """
import resource, sys, time
from aedfleet.cli import main
started = time.monotonic()
main(sys.argv[1:], standalone_mode=False)
print(time.monotonic() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
# the report's readiness alone: every cabinet's time in each state from its readiness changes
READINESS = """
import resource, sys, time
from aedfleet.report.figures import _fleet
from aedfleet.report.queries import Queries
url, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
started = time.monotonic()
fleet = _fleet(Queries(url, "aedfleet"), start, end)
print(time.monotonic() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
NAIVE = """
import resource, sys, time
from aedfleet.influx_query import query
from aedfleet.report.readiness import Change, durations
url, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
started = time.monotonic()
code = '"available" + 2 * "offline" + 4 * "in_use"'
rows = query(url, "aedfleet", f'SELECT {code} AS "code" FROM "cabinet_state" '
             f'WHERE time >= {start}ms AND time < {end}ms GROUP BY "cabinet"')
by = {}
for row in rows:
    by.setdefault(row["cabinet"], []).append(Change(row["time"], int(row["code"])))
total = sum(durations(start, end, None, c).available for c in by.values())
print(time.monotonic() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


class Run(NamedTuple):
    seconds: float
    peak_kib: int


def lines(cabinets: int, days: int, heartbeat_ms: int, seed: int) -> Iterator[str]:
    """A month of the collector's points for the fleet, cabinet by cabinet."""
    rng = random.Random(seed)
    start, end = MONTH.start_ms, MONTH.start_ms + days * DAY_MS
    for index in range(cabinets):
        cabinet, district = f"bz-{index:05d}", DISTRICTS[index % len(DISTRICTS)]
        tags = f"cabinet={cabinet},district={district},site=s{index % 500},known=true"
        # what changes: a use for one cabinet in 50, an outage for one in 20
        changes: list[tuple[int, int]] = []
        if index % 50 == 0:
            at = rng.randrange(start, end - DAY_MS)
            changes += [(at, 4), (at + 40 * 60_000, 0), (at + 4 * HOUR_MS, 1)]
            yield f"event,{tags},ev=door_open seq=1i,sync=true {at}"
            yield f"event,{tags},ev=aed_removed seq=2i,sync=true {at + 10_000}"
            yield f"event,{tags},ev=aed_returned seq=3i,sync=true,out_s=2400i {at + 2_410_000}"
            yield (f"alert,{tags},rule=opened,kind=firing,severity=critical summary=\"door "
                   f"opened\",since_ms={at}i,number=0i,open=1i {at}")  # fmt: skip
            yield (f"alert,{tags},rule=opened,kind=resolved,severity=critical summary=\"door "
                   f"opened\",since_ms={at}i,number=0i,open=0i {at + 2_500_000}")  # fmt: skip
            yield (f"notification,cabinet={cabinet},rule=opened,kind=firing,channel=sms,"
                   f"outcome=sent attempts=1i {at + 4_000}")  # fmt: skip
        if index % 20 == 7:
            at = rng.randrange(start, end - DAY_MS)
            changes += [(at, 2), (at + rng.randrange(HOUR_MS, 12 * HOUR_MS), 1)]
        changes.sort()
        # readiness_change at the real rate: each collector start writes every cabinet's state
        # (one twelve days before the month, a restart on the 15th), then only the changes
        code = 1
        for at, new in sorted([*changes, (start - 12 * DAY_MS, -1), (start + 14 * DAY_MS, -1)]):
            code = code if new == -1 else new
            yield _change(tags, code, at)
        code, pending = 1, iter(changes)
        upcoming = next(pending, None)
        for at in range(start - heartbeat_ms, end, heartbeat_ms):
            while upcoming is not None and upcoming[0] <= at:
                code = upcoming[1]
                yield _state(tags, code, upcoming[0])
                upcoming = next(pending, None)
            yield _state(tags, code, at)
            yield f"telemetry,{tags} seq=1i,batt_v=12.8,temp_c=18.5,rssi_dbm=-60i {at + 1}"
        pads = "2026-12-20" if index % 100 == 3 else "2028-06-01"
        for day in range(max(0, days - 3), days):
            yield (f"device,{tags} seq=1i,pad_exp=\"{pads}\",batt_exp=\"2029-01-01\" "
                   f"{start + day * DAY_MS + 5}")  # fmt: skip


def _change(tags: str, code: int, at: int) -> str:
    state = {0: "not_ready", 1: "available", 2: "offline", 4: "in_use"}[code]
    return (f"readiness_change,{tags} state=\"{state}\",reason=\"\",code={code}i,"
            f"name=\"cabinet\",lat=37.4,lon=118.0 {at}")  # fmt: skip


def _state(tags: str, code: int, at: int) -> str:
    return (f"cabinet_state,{tags} available={int(code == 1)}i,offline={int(code == 2)}i,"
            f"in_use={int(code == 4)}i,not_ready={int(code == 0)}i,name=\"cabinet\","
            f"lat=37.4,lon=118.0 {at}")  # fmt: skip


def fill(url: str, cabinets: int, days: int, heartbeat_ms: int) -> tuple[int, int]:
    """Writes the month; returns the points written, and how many of them are readiness
    changes."""
    httpx.post(f"{url}/query", params={"q": "CREATE DATABASE aedfleet"}, timeout=30)
    written, changes, batch = 0, 0, []
    with httpx.Client(timeout=300) as client:
        for line in lines(cabinets, days, heartbeat_ms, seed=1):
            changes += line.startswith("readiness_change,")
            batch.append(line)
            if len(batch) == BATCH:
                _write(client, url, batch)
                written, batch = written + len(batch), []
        if batch:
            _write(client, url, batch)
            written += len(batch)
    return written, changes


def _write(client: httpx.Client, url: str, batch: list[str]) -> None:
    answer = client.post(f"{url}/write", params={"db": "aedfleet", "precision": "ms"},
                         content="\n".join(batch).encode())  # fmt: skip
    answer.raise_for_status()


def child(code: str, *arguments: str) -> Run:
    result = subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True,
                            text=True, check=True, timeout=1800)  # fmt: skip
    seconds, peak = result.stdout.split()[-2:]
    return Run(float(seconds), int(peak))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cabinets", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--heartbeat-h", type=float, default=6.0)
    args = parser.parse_args()
    heartbeat_ms = int(args.heartbeat_h * HOUR_MS)
    with tempfile.TemporaryDirectory() as tmp, running_services(Path(tmp) / "s") as services:
        url = services.influxdb.url
        started = time.monotonic()
        points, changes = fill(url, args.cabinets, args.days, heartbeat_ms)
        fill_s = time.monotonic() - started
        out = Path(tmp) / "report.pdf"
        report = child(REPORT, "report", "--month", str(MONTH), "--out", str(out),
                       "--influx-url", url)  # fmt: skip
        period = (str(MONTH.start_ms), str(MONTH.start_ms + args.days * DAY_MS))
        readiness = child(READINESS, url, *period)
        naive = child(NAIVE, url, *period)
        pages = out.stat().st_size
    print(
        f"{args.cabinets} cabinets x {args.days} days, readiness changes at the real rate, "
        f"telemetry and snapshots every {args.heartbeat_h:g} h: "
        f"{points} points written in {fill_s:.0f} s; the PDF is {pages // 1024} KiB"
    )
    real = args.cabinets * args.days * 1440
    print(
        f"the report reads {changes} readiness_change points; at the collector's one-minute "
        f"heartbeat cabinet_state holds {real} ({real / changes:.0f} times as many)"
    )
    print(f"{'':28} {'time (s)':>10} {'peak memory (MiB)':>18}")
    print(f"{'aedfleet report (PDF)':28} {report.seconds:>10.1f} {report.peak_kib / 1024:>18.0f}")
    print(f"{'readiness alone':28} {readiness.seconds:>10.1f} {readiness.peak_kib / 1024:>18.0f}")
    print(f"{'baseline: pull raw points':28} {naive.seconds:>10.1f} {naive.peak_kib / 1024:>18.0f}")
    print(f"{'report / baseline':28} {report.seconds / naive.seconds:>10.2f} "
          f"{report.peak_kib / naive.peak_kib:>18.2f}")  # fmt: skip
    print(f"{'readiness / baseline':28} {readiness.seconds / naive.seconds:>10.2f} "
          f"{readiness.peak_kib / naive.peak_kib:>18.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
