"""Coverage recompute for one cabinet's change in a big city: the spatial index's per-change
walk of one circle (`LiveCoverage.set_usable`, then each touched place's nearest cabinet, as the
collector writes them) against a brute-force scan without an index (the changed cabinet against
every place, then every cabinet against each place it reaches), in the same run, checked to give
the same answers. The issue's target: under 5 ms per change at 20,000 cabinets, 100,000 places.

Run: .venv/bin/python -m bench.coverage [--cabinets 20000] [--places 100000]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time

from aedfleet.coverage.geo import haversine_m, radius_m
from aedfleet.coverage.hours import parse_hours
from aedfleet.coverage.live import LiveCoverage
from aedfleet.coverage.places import Place
from aedfleet.coverage.sites import Site

# the city's side for 20,000 cabinets: about three cabinets in reach of a place, as dense as
# a programme that set out to cover every crowded place would make it
SIDE_M_AT_20000 = 22_000.0
CENTRE = (37.38, 117.97)
DISTRICTS = 12


def city(cabinets: int, places: int, seed: int) -> tuple[list[Site], list[Place], float]:
    rng = random.Random(seed)
    side = SIDE_M_AT_20000 * math.sqrt(cabinets / 20_000)
    lat_span = side / 111_195.0
    lon_span = lat_span / math.cos(math.radians(CENTRE[0]))

    def point() -> tuple[float, float]:
        return (CENTRE[0] + rng.uniform(-0.5, 0.5) * lat_span,
                CENTRE[1] + rng.uniform(-0.5, 0.5) * lon_span)  # fmt: skip

    always = parse_hours("24/7")
    sites = [Site(f"c{n}", f"Cabinet {n}", f"d{n % DISTRICTS}", *point(), always)
             for n in range(cabinets)]  # fmt: skip
    spots = [Place(id=f"p{n}", name=f"Place {n}", kind="other", district=f"d{n % DISTRICTS}",
                   lat=lat, lon=lon, weight=float(rng.randrange(1, 5000)))
             for n, (lat, lon) in ((n, point()) for n in range(places))]  # fmt: skip
    return sites, spots, side


def brute_force_change(
    sites: list[Site], places: list[Place], usable: set[str], changed: Site, radius: float
) -> dict[int, tuple[bool, str]]:
    """Without an index: every place against the changed cabinet, then every cabinet against
    each place in its circle, for its cover and its nearest usable cabinet."""
    reached = [n for n, p in enumerate(places)
               if haversine_m(changed.lat, changed.lon, p.lat, p.lon) <= radius]  # fmt: skip
    answers = {}
    for number in reached:
        p = places[number]
        nearest = min(
            ((haversine_m(p.lat, p.lon, s.lat, s.lon), s.id) for s in sites if s.id in usable),
            default=None,
        )
        covered = nearest is not None and nearest[0] <= radius
        answers[number] = (covered, nearest[1] if nearest else "")
    return answers


def indexed_change(
    coverage: LiveCoverage, cabinet: str, usable: bool
) -> dict[int, tuple[bool, str]]:
    change = coverage.set_usable(cabinet, usable)
    answers = {}
    for number in change.touched:
        now = coverage.place(number)
        answers[number] = (now.covered, now.cabinet)
    coverage.districts()
    coverage.fleet()
    return answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cabinets", type=int, default=20_000)
    parser.add_argument("--places", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=2_000, help="indexed changes timed")
    parser.add_argument("--brute-changes", type=int, default=5, help="brute-force changes timed")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    radius = radius_m()
    sites, places, side = city(args.cabinets, args.places, args.seed)
    rng = random.Random(args.seed + 1)
    usable = {s.id for s in sites if rng.random() < 0.9}
    started = time.perf_counter()
    coverage = LiveCoverage(places, sites, radius, usable)
    build_s = time.perf_counter() - started

    indexed_ms: list[float] = []
    brute_ms: list[float] = []
    for number in range(args.changes):
        changed = rng.choice(sites)
        now = changed.id not in usable
        (usable.add if now else usable.discard)(changed.id)
        started = time.perf_counter()
        answers = indexed_change(coverage, changed.id, now)
        indexed_ms.append((time.perf_counter() - started) * 1000)
        if number < args.brute_changes:
            started = time.perf_counter()
            expected = brute_force_change(sites, places, usable, changed, radius)
            brute_ms.append((time.perf_counter() - started) * 1000)
            if answers != expected:
                raise AssertionError(f"change of {changed.id}: index and brute force disagree")

    in_reach = sum(len(c) for c in coverage.index.cabinets_of) / max(1, len(places))
    indexed_median = statistics.median(indexed_ms)
    brute_median = statistics.median(brute_ms)
    rows = [
        ("cabinets, places", f"{len(sites):,}, {len(places):,}"),
        ("city side (km), radius (m)", f"{side / 1000:.1f}, {radius:.0f}"),
        ("cabinets in reach of a place (mean)", f"{in_reach:.2f}"),
        ("index build (s)", f"{build_s:.2f}"),
        (f"one change, indexed, median of {len(indexed_ms)} (ms)", f"{indexed_median:.3f}"),
        ("one change, indexed, p99 (ms)", f"{sorted(indexed_ms)[int(0.99 * len(indexed_ms))]:.3f}"),
        ("one change, indexed, max (ms)", f"{max(indexed_ms):.3f}"),
        (f"one change, brute force, median of {len(brute_ms)} (ms)", f"{brute_median:.1f}"),
        ("brute force / indexed (median)", f"{brute_median / indexed_median:,.0f}x"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    main()
