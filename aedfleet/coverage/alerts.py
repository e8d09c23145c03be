"""Pure: the coverage side of alerting. `coverage_lost` opens when a key place loses its last
ready, accessible AED and resolves when it is covered again; a cabinet's own alert escalates
one level when its going out of service left places uncovered, and says which."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from aedfleet.coverage.places import Place
from aedfleet.coverage.tracker import CoverageTracker, Update

RULE: Final = "coverage_lost"
SEVERITY: Final = "high"
ESCALATED: Final = {
    "info": "warning",
    "warning": "high",
    "high": "critical",
    "critical": "critical",
}
ROUTES: Final = ("duty",)  # the duty officers: a place has no guardian
NAMES_IN_TEXT: Final = 3  # an SMS is short: the first places, then how many more


@dataclass(frozen=True)
class PlaceAlert:
    place: Place
    kind: Literal["firing", "acknowledged", "resolved"]
    since_ms: int
    summary: str


class PlaceAlerts:
    """Which places' `coverage_lost` is open, since when, and who acknowledged it. Kept by
    the shell in the alert store, and given back after a restart (`restore`): an open alert
    is then neither sent again when its place is found uncovered, nor forgotten when the
    place is covered again."""

    def __init__(self) -> None:
        self.firing: dict[str, int] = {}  # every open one, acknowledged or not
        self.acked_by: dict[str, str] = {}

    def restore(self, place_id: str, since_ms: int, acked_by: str) -> None:
        self.firing[place_id] = since_ms
        if acked_by:
            self.acked_by[place_id] = acked_by

    def acknowledge(self, tracker: CoverageTracker, number: int, by: str) -> PlaceAlert | None:
        """None unless the place's alert is open and not yet acknowledged."""
        place = tracker.coverage.places[number]
        since = self.firing.get(place.id)
        if since is None or place.id in self.acked_by:
            return None
        self.acked_by[place.id] = by
        return PlaceAlert(place, "acknowledged", since, lost_text(tracker, number))

    def on_update(self, tracker: CoverageTracker, update: Update, now_ms: int) -> list[PlaceAlert]:
        out = []
        for number in update.lost:
            place = tracker.coverage.places[number]
            if place.id not in self.firing:
                self.firing[place.id] = now_ms
                out.append(PlaceAlert(place, "firing", now_ms, lost_text(tracker, number)))
        for number in update.regained:
            place = tracker.coverage.places[number]
            since = self.firing.pop(place.id, None)
            self.acked_by.pop(place.id, None)
            if since is not None:
                now = tracker.place(number)
                summary = f"{place.name} covered again by {now.cabinet}"
                out.append(PlaceAlert(place, "resolved", since, summary))
        return out


def lost_text(tracker: CoverageTracker, number: int) -> str:
    """What the duty officer reads: the place, and the nearest ready AED left."""
    now = tracker.place(number)
    radius = f"{tracker.coverage.radius_m:.0f} m"
    site = tracker.site(now.cabinet)
    if now.distance_m is None or site is None:
        return f"{now.place.name}: no ready AED within {radius}, and none anywhere"
    return (f"{now.place.name}: no ready AED within {radius}; nearest ready: {site.name} "
            f"({site.id}), {now.distance_m:,.0f} m away")  # fmt: skip


def uncovered_note(places: list[Place]) -> str:
    """`; now uncovered: A, B, C and 2 more`, for the cabinet's own alert."""
    names = ", ".join(p.name for p in places[:NAMES_IN_TEXT])
    more = f" and {len(places) - NAMES_IN_TEXT} more" if len(places) > NAMES_IN_TEXT else ""
    return f"; only AED of {names}{more}, now uncovered"
