"""Responder selection in a big city: K nearest available responders by the spatial index
(`ResponderIndex.select`) against a brute-force scan of everyone (`select_brute_force`), in the
same run, checked to give the same answers; and the time to load the responders file (CSV read,
validated, hours parsed, index built). The issue's targets: under 10 ms per selection with
100,000 responders, under 2 s to load.

Run: .venv/bin/python -m bench.responders [--responders 100000] [--selections 2000]
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import statistics
import tempfile
import time
from pathlib import Path

from aedfleet.responders.roster import COLUMNS, load_roster
from aedfleet.responders.select import Limits, ResponderIndex, select_brute_force

CENTRE = (37.38, 117.97)
# 100,000 responders over a 30 km square: about 110 per km², so some 85 within 500 m
SIDE_M_AT_100000 = 30_000.0
HOURS = ("24/7", "24/7", "24/7", "Mo-Fr 18:00-23:00; Sa,Su 08:00-22:00", "Mo-Fr 08:00-18:00")
NOW_MS = 1_795_820_400_000


def write_roster(path: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    side = SIDE_M_AT_100000 * math.sqrt(count / 100_000)
    lat_span = side / 111_195.0
    lon_span = lat_span / math.cos(math.radians(CENTRE[0]))
    rows = []
    for n in range(count):
        lat = CENTRE[0] + rng.uniform(-0.5, 0.5) * lat_span
        lon = CENTRE[1] + rng.uniform(-0.5, 0.5) * lon_span
        expiry = "2026-01-31" if rng.random() < 0.1 else "2028-06-30"
        quiet = "22:00-07:00" if rng.random() < 0.2 else ""
        rows.append((f"r{n}", f"Responder {n}", f"+86138{n:08d}", f"C{n}", expiry, f"{lat:.6f}",
                     f"{lon:.6f}", rng.choice(HOURS), "2025-01-01", rng.choice(("zh", "en")),
                     quiet))  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow((*COLUMNS, "quiet_hours"))
        writer.writerows(rows)
    path.chmod(0o600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responders", type=int, default=100_000)
    parser.add_argument("--selections", type=int, default=2000)
    parser.add_argument("--brute-selections", type=int, default=20)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    limits = Limits()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "responders.csv"
        write_roster(path, args.responders, args.seed)
        reads, loads = [], []
        for _ in range(args.loads):  # the median of a few: the machine is shared
            started = time.perf_counter()
            roster = load_roster(path)
            reads.append(time.perf_counter() - started)
            index = ResponderIndex(roster)
            loads.append(time.perf_counter() - started)
        read_s, load_s = statistics.median(reads), statistics.median(loads)
    rng = random.Random(args.seed + 1)
    # a tenth of the responders were texted in the last hours: rest time and budget count
    texted = {
        r.id: [NOW_MS - rng.randrange(0, 6 * 3_600_000)]
        for r in rng.sample(roster, len(roster) // 10)
    }
    points = [(r.lat, r.lon) for r in rng.choices(roster, k=args.selections)]
    timings, answers = [], []
    for lat, lon in points:
        began = time.perf_counter()
        answers.append(index.select(lat, lon, texted, NOW_MS, limits))
        timings.append((time.perf_counter() - began) * 1000)
    brute = []
    for number, (lat, lon) in enumerate(points[: args.brute_selections]):
        began = time.perf_counter()
        found = select_brute_force(roster, lat, lon, texted, NOW_MS, limits)
        brute.append((time.perf_counter() - began) * 1000)
        if found != answers[number]:
            raise SystemExit(f"selection {number}: the index and the scan disagree")
    timings.sort()
    median, p99 = statistics.median(timings), timings[int(len(timings) * 0.99) - 1]
    chosen = statistics.mean(len(a) for a in answers)
    print(f"responders                              {len(roster):,}")
    print(f"file read, validated (s), median        {read_s:.2f}")
    print(f"load with index build (s), median       {load_s:.2f}   target < 2")
    print(f"selection, indexed median / p99 (ms)   {median:.3f} / {p99:.3f}   target < 10")
    print(f"selection, brute force median (ms)      {statistics.median(brute):.1f}")
    print(f"brute force / indexed                   {statistics.median(brute) / median:.0f}x")
    print(f"responders chosen per selection         {chosen:.1f} (K = {limits.max_responders})")


if __name__ == "__main__":
    main()
