"""Pure: the coverage report for one moment, and its text as `aedfleet coverage report`
prints it."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from aedfleet.coverage.live import DistrictCoverage, LiveCoverage, PlaceCoverage
from aedfleet.coverage.places import Place
from aedfleet.coverage.sites import Site

READY = "available"  # the readiness state (cabinet_state.state) in which a cabinet can be used


@dataclass(frozen=True)
class CabinetStatus:
    site: Site
    state: str  # its readiness (`unknown` when nothing is known of it at that moment)
    open_now: bool

    @property
    def usable(self) -> bool:
        return self.state == READY and self.open_now


@dataclass(frozen=True)
class Report:
    local: datetime.datetime
    radius_m: float
    cabinets: list[CabinetStatus]
    places: list[PlaceCoverage]
    districts: list[DistrictCoverage]
    fleet: DistrictCoverage
    sole_cover: dict[str, list[Place]]  # cabinet id -> the places only it covers
    # place id -> the cabinets within its circle that are not usable now: what would cover it
    in_reach: dict[str, list[str]]
    covers: dict[str, int]  # place id -> how many usable cabinets cover it


def build_report(
    places: Sequence[Place], sites: Sequence[Site], readiness: dict[str, str],
    local: datetime.datetime, radius_m: float,
) -> tuple[Report, LiveCoverage]:  # fmt: skip
    """Coverage at `local` (the fleet's wall-clock time) given each cabinet's readiness then."""
    statuses = [CabinetStatus(s, readiness.get(s.id, "unknown"), s.hours.is_open(local))
                for s in sites]  # fmt: skip
    coverage = LiveCoverage(places, sites, radius_m, [c.site.id for c in statuses if c.usable])
    sole = {}
    for status in statuses:
        only = coverage.sole_cover(status.site.id)
        if only:
            sole[status.site.id] = [coverage.places[n] for n in only]
    report = Report(
        local=local,
        radius_m=radius_m,
        cabinets=statuses,
        places=[coverage.place(n) for n in range(len(coverage.places))],
        districts=coverage.districts(),
        fleet=coverage.fleet(),
        sole_cover=sole,
        in_reach={
            coverage.places[n].id: [coverage.sites[c].id for c, _ in around]
            for n, around in enumerate(coverage.index.cabinets_of)
            if around and not coverage.is_covered(n)
        },
        covers={p.id: coverage.cover_count(n) for n, p in enumerate(coverage.places)},
    )
    return report, coverage


def _distance(metres: float | None) -> str:
    return "no ready AED" if metres is None else f"{metres:,.0f} m"


def format_report(report: Report) -> str:
    usable = sum(1 for c in report.cabinets if c.usable)
    offset = report.local.strftime("%z")
    lines = [
        f"Coverage at {report.local:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]}), radius "
        f"{report.radius_m:.0f} m: {usable} of {len(report.cabinets)} cabinets ready and "
        "accessible",
        "",
        f"{'district':<14}{'covered':>9}{'places':>8}{'%':>8}{'weighted %':>12}",
    ]
    for tally in [*report.districts, report.fleet]:
        lines.append(
            f"{tally.district:<14}{tally.covered:>9}{tally.places:>8}{tally.pct:>8.1f}"
            f"{tally.weighted_pct:>12.1f}"
        )
    uncovered = sorted((p for p in report.places if not p.covered),
                       key=lambda p: (p.place.district, -p.place.weight))  # fmt: skip
    lines += ["", f"Uncovered places ({len(uncovered)}), with the nearest ready AED:"]
    for p in uncovered:
        nearest = f"  {p.cabinet}" if p.cabinet else ""
        idle = report.in_reach.get(p.place.id)
        idle_text = f"  (in reach but not usable: {', '.join(idle)})" if idle else ""
        lines.append(f"  {p.place.district:<10} {p.place.id:<8} {p.place.name} ({p.place.kind}, "
                     f"{p.place.weight:,.0f}/day)  {_distance(p.distance_m)}{nearest}"
                     f"{idle_text}")  # fmt: skip
    lines += ["", f"Sole cover ({len(report.sole_cover)} cabinets, each the only ready AED of):"]
    for cabinet_id, only in sorted(report.sole_cover.items()):
        lines.append(f"  {cabinet_id:<11} {', '.join(p.name for p in only)}")
    unusable = [c for c in report.cabinets if not c.usable]
    lines += ["", f"Not usable now ({len(unusable)} cabinets):"]
    for c in unusable:
        why = [] if c.state == READY else [c.state]
        why += [] if c.open_now else [f"closed ({c.site.hours.text})"]
        lines.append(f"  {c.site.id:<11} {c.site.name}: {', '.join(why)}")
    return "\n".join(lines)
