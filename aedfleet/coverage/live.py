"""Pure: coverage of every key place, kept up to date one cabinet change at a time.

A place is covered when a *usable* cabinet (ready, and accessible at this hour) is within its
circle. Each change walks only the changed cabinet's circle, so its cost does not grow with the
size of the fleet or the city."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from aedfleet.coverage.index import CircleIndex
from aedfleet.coverage.places import Place
from aedfleet.coverage.sites import Site

FLEET = "fleet"


@dataclass(frozen=True)
class PlaceCoverage:
    """A place now: covered or not, and its nearest usable cabinet (`""`, None if none)."""

    place: Place
    covered: bool
    cabinet: str
    distance_m: float | None


@dataclass
class DistrictCoverage:
    district: str
    places: int = 0
    covered: int = 0
    weight: float = 0.0
    covered_weight: float = 0.0

    @property
    def pct(self) -> float:
        return 100.0 * self.covered / self.places if self.places else 0.0

    @property
    def weighted_pct(self) -> float:
        return 100.0 * self.covered_weight / self.weight if self.weight else 0.0


@dataclass(frozen=True)
class Change:
    """What one cabinet's change did: places that lost their last cover, places that got one,
    and every place in its circle (whose nearest cabinet may have changed)."""

    lost: list[int] = field(default_factory=list)
    regained: list[int] = field(default_factory=list)
    touched: list[int] = field(default_factory=list)


class LiveCoverage:
    def __init__(
        self, places: Sequence[Place], sites: Sequence[Site], radius_m: float,
        usable: Iterable[str] = (),
    ) -> None:  # fmt: skip
        self.places = list(places)
        self.sites = list(sites)
        self.radius_m = radius_m
        self._site_index = {site.id: number for number, site in enumerate(self.sites)}
        self.index = CircleIndex(
            [(s.lat, s.lon) for s in self.sites], [(p.lat, p.lon) for p in self.places], radius_m
        )
        self.usable = [False] * len(self.sites)
        self._count = [0] * len(self.places)
        self._districts: dict[str, DistrictCoverage] = {}
        self._fleet = DistrictCoverage(FLEET)
        for place in self.places:
            for tally in (self._district(place.district), self._fleet):
                tally.places += 1
                tally.weight += place.weight
        for cabinet_id in usable:
            self.set_usable(cabinet_id, True)

    def _district(self, name: str) -> DistrictCoverage:
        return self._districts.setdefault(name, DistrictCoverage(name))

    def set_usable(self, cabinet_id: str, usable: bool) -> Change:
        """Marks a cabinet usable or not and updates the places in its circle."""
        cabinet = self._site_index.get(cabinet_id)
        change = Change()
        if cabinet is None or self.usable[cabinet] == usable:
            return change
        self.usable[cabinet] = usable
        step = 1 if usable else -1
        for place, _ in self.index.places_of[cabinet]:
            change.touched.append(place)
            self._count[place] += step
            if usable and self._count[place] == 1:
                change.regained.append(place)
                self._tally(place, +1)
            elif not usable and self._count[place] == 0:
                change.lost.append(place)
                self._tally(place, -1)
        return change

    def _tally(self, place: int, step: int) -> None:
        weight = self.places[place].weight
        for tally in (self._district(self.places[place].district), self._fleet):
            tally.covered += step
            tally.covered_weight += step * weight

    def is_covered(self, place: int) -> bool:
        return self._count[place] > 0

    def cover_count(self, place: int) -> int:
        """How many usable cabinets cover the place."""
        return self._count[place]

    def place(self, place: int) -> PlaceCoverage:
        """The place's coverage with its nearest usable cabinet: inside the circle when covered,
        else at whatever distance it is."""
        for cabinet, metres in self.index.cabinets_of[place]:
            if self.usable[cabinet]:
                return PlaceCoverage(self.places[place], True, self.sites[cabinet].id, metres)
        nearest = self.index.nearest_cabinet(place, self.usable)
        if nearest is None:
            return PlaceCoverage(self.places[place], False, "", None)
        return PlaceCoverage(self.places[place], False, self.sites[nearest[0]].id, nearest[1])

    def districts(self) -> list[DistrictCoverage]:
        return [self._districts[name] for name in sorted(self._districts)]

    def fleet(self) -> DistrictCoverage:
        return self._fleet

    def sole_cover(self, cabinet_id: str) -> list[int]:
        """The places whose only usable cover is this cabinet (none if it is not usable)."""
        cabinet = self._site_index.get(cabinet_id)
        if cabinet is None or not self.usable[cabinet]:
            return []
        return [place for place, _ in self.index.places_of[cabinet] if self._count[place] == 1]

    def uncovered_in_circle(self, cabinet_id: str) -> list[int]:
        """The places in this cabinet's circle that no usable cabinet covers now."""
        cabinet = self._site_index.get(cabinet_id)
        if cabinet is None:
            return []
        return [place for place, _ in self.index.places_of[cabinet] if self._count[place] == 0]
