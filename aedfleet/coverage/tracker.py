"""Pure: live coverage as the collector keeps it. Fed each cabinet's readiness as it changes
and the clock (for access hours opening and closing), it says which places lost or regained
their cover and writes the `coverage` points (docs/storage.md)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from aedfleet.collector import lineprotocol as lp
from aedfleet.coverage.live import FLEET, DistrictCoverage, LiveCoverage, PlaceCoverage
from aedfleet.coverage.places import Place
from aedfleet.coverage.report import READY
from aedfleet.coverage.sites import Site, local_time

MEASUREMENT: Final = "coverage"
SLICE: Final = 500  # places per slice of the heartbeat


@dataclass
class Update:
    """What a readiness change or an access-hours boundary did to coverage."""

    lost: list[int] = field(default_factory=list)  # places that lost their last usable AED
    regained: list[int] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)  # places whose nearest AED may have changed

    def merge(self, lost: list[int], regained: list[int], touched: list[int]) -> None:
        # a place lost and regained in one update (or the reverse) has not changed
        for place in lost:
            if place in self.regained:
                self.regained.remove(place)
            else:
                self.lost.append(place)
        for place in regained:
            if place in self.lost:
                self.lost.remove(place)
            else:
                self.regained.append(place)
        self.touched.update(touched)


class CoverageTracker:
    """Every cabinet starts not ready (nothing heard yet) until its readiness is given."""

    def __init__(
        self, places: Sequence[Place], sites: Sequence[Site], radius_m: float,
        utc_offset_minutes: int, now_ms: int,
    ) -> None:  # fmt: skip
        self.coverage = LiveCoverage(places, sites, radius_m)
        self._offset = utc_offset_minutes
        self._ready: dict[str, bool] = {site.id: False for site in sites}
        self._open: dict[str, bool] = {}
        self._boundaries: list[tuple[int, str]] = []
        local = local_time(now_ms, utc_offset_minutes)
        for site in sites:
            self._open[site.id] = site.hours.is_open(local)
            self._schedule(site, now_ms)
        self._sites = {site.id: site for site in sites}

    def _schedule(self, site: Site, now_ms: int) -> None:
        change = site.hours.next_change(local_time(now_ms, self._offset))
        if change is not None:
            heapq.heappush(self._boundaries, (int(change.timestamp() * 1000), site.id))

    def next_boundary_ms(self) -> int | None:
        """When the next cabinet opens or closes."""
        return self._boundaries[0][0] if self._boundaries else None

    def on_readiness(self, cabinet_id: str, state: str) -> Update:
        update = Update()
        if cabinet_id in self._ready:
            self._ready[cabinet_id] = state == READY
            self._apply(cabinet_id, update)
        return update

    def on_clock(self, now_ms: int) -> Update:
        """Every access-hours boundary passed by `now_ms`."""
        update = Update()
        while self._boundaries and self._boundaries[0][0] <= now_ms:
            _, cabinet_id = heapq.heappop(self._boundaries)
            site = self._sites[cabinet_id]
            self._open[cabinet_id] = site.hours.is_open(local_time(now_ms, self._offset))
            self._apply(cabinet_id, update)
            self._schedule(site, now_ms)
        return update

    def _apply(self, cabinet_id: str, update: Update) -> None:
        usable = self._ready[cabinet_id] and self._open[cabinet_id]
        change = self.coverage.set_usable(cabinet_id, usable)
        update.merge(change.lost, change.regained, change.touched)

    def uncovered_by(self, cabinet_id: str) -> list[Place]:
        """The places in this cabinet's circle that no usable AED covers now: what its
        not being ready has cost."""
        return [self.coverage.places[n] for n in self.coverage.uncovered_in_circle(cabinet_id)]

    def place(self, number: int) -> PlaceCoverage:
        return self.coverage.place(number)

    def site(self, cabinet_id: str) -> Site | None:
        return self._sites.get(cabinet_id)

    # --- the `coverage` points --------------------------------------------------------------

    def lines(self, update: Update, now_ms: int) -> list[str]:
        """Points for the touched places, their districts and the fleet; none if untouched."""
        if not update.touched:
            return []
        places = sorted(update.touched)
        districts = {self.coverage.places[n].district for n in places}
        return self._lines(places, districts, now_ms)

    def all_lines(self, now_ms: int, slice_size: int = SLICE) -> Iterator[list[str]]:
        """Every place, then the districts and the fleet, in slices: the heartbeat that keeps
        current-state panels fresh (and each uncovered place's nearest AED), which a caller
        on an event loop can write a slice at a time (100,000 places take seconds)."""
        total = len(self.coverage.places)
        for start in range(0, total, slice_size):
            chunk = range(start, min(total, start + slice_size))
            yield [place_line(self.coverage.place(n), now_ms) for n in chunk]
        yield self._lines([], {p.district for p in self.coverage.places}, now_ms)

    def _lines(self, places: Iterable[int], districts: set[str], now_ms: int) -> list[str]:
        out = [place_line(self.coverage.place(n), now_ms) for n in places]
        tallies = {t.district: t for t in self.coverage.districts()}
        out += [tally_line(tallies[name], "district", now_ms) for name in sorted(districts)]
        out.append(tally_line(self.coverage.fleet(), FLEET, now_ms))
        return out


def place_line(p: PlaceCoverage, now_ms: int) -> str:
    place = p.place
    tags = lp.tag_set({"scope": "place", "place": place.id, "district": place.district})
    nearest = f",distance_m={lp.floating(p.distance_m)}" if p.distance_m is not None else ""
    return (
        f"{MEASUREMENT}{tags} covered={lp.boolean(p.covered)},covered_n={int(p.covered)}i,"
        f"cabinet={lp.string(p.cabinet)}{nearest},name={lp.string(place.name)},"
        f"kind={lp.string(place.kind)},weight={lp.floating(place.weight)},"
        f"lat={lp.floating(place.lat)},lon={lp.floating(place.lon)} {now_ms}"
    )


def tally_line(t: DistrictCoverage, scope: str, now_ms: int) -> str:
    tags = lp.tag_set({"scope": scope, "district": t.district if scope == "district" else ""})
    return (
        f"{MEASUREMENT}{tags} places={t.places}i,covered_n={t.covered}i,"
        f"uncovered_n={t.places - t.covered}i,pct={lp.floating(round(t.pct, 3))},"
        f"weighted_pct={lp.floating(round(t.weighted_pct, 3))},"
        f"weight={lp.floating(t.weight)},covered_weight={lp.floating(t.covered_weight)} {now_ms}"
    )
