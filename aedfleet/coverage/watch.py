"""Live coverage in the collector: what the alerting shell asks of it. Each time cabinets'
readiness may have changed (a message, a tick) and at each access-hours boundary it updates
coverage, writes the `coverage` points, opens or resolves `coverage_lost` for places, and
escalates a cabinet's own alert when its outage left places uncovered (docs/coverage.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import msgspec

from aedfleet.collector import lineprotocol as lp
from aedfleet.collector.inventory import Inventory
from aedfleet.coverage.alerts import (
    ESCALATED,
    ROUTES,
    RULE,
    SEVERITY,
    PlaceAlert,
    PlaceAlerts,
    lost_text,
    uncovered_note,
)
from aedfleet.coverage.geo import radius_m
from aedfleet.coverage.places import Place, load_places
from aedfleet.coverage.report import READY
from aedfleet.coverage.sites import sites_from
from aedfleet.coverage.tracker import CoverageTracker, Update
from aedfleet.notify.messages import Role, Transition

Readiness = Callable[[str], tuple[str, str]]  # cabinet id -> (state, reason)


class CoverageWatch:
    routes: tuple[Role, ...] = ROUTES  # who hears of coverage_lost

    def __init__(self, tracker: CoverageTracker) -> None:
        self.tracker = tracker
        self.place_alerts = PlaceAlerts()
        self._state: dict[str, str] = {}
        self._places = {place.id: place for place in tracker.coverage.places}
        self._numbers = {place.id: n for n, place in enumerate(tracker.coverage.places)}

    @classmethod
    def load(
        cls, places_path: Path, inventory: Inventory, *, retrieval_s: float, walk_m_per_s: float,
        detour_factor: float, utc_offset_minutes: int, now_ms: int,
    ) -> CoverageWatch:  # fmt: skip
        """From the key-places file and the inventory; a bad place row or unreadable
        access_hours raises, naming the line or the cabinet, and stops start-up."""
        places = load_places(places_path)
        sites = sites_from(inventory.values())
        radius = radius_m(retrieval_s, walk_m_per_s, detour_factor)
        return cls(CoverageTracker(places, sites, radius, utc_offset_minutes, now_ms))

    def update(
        self, cabinet_ids: Iterable[str], readiness: Readiness, now_ms: int
    ) -> tuple[list[str], list[Transition]]:
        """The points and place alerts after these cabinets' readiness and the clock."""
        update = self.tracker.on_clock(now_ms)
        for cabinet_id in cabinet_ids:
            state, _ = readiness(cabinet_id)
            if self._state.get(cabinet_id) != state:
                self._state[cabinet_id] = state
                step = self.tracker.on_readiness(cabinet_id, state)
                update.merge(step.lost, step.regained, list(step.touched))
        return self._out(update, now_ms)

    def _out(self, update: Update, now_ms: int) -> tuple[list[str], list[Transition]]:
        alerts = self.place_alerts.on_update(self.tracker, update, now_ms)
        return self.tracker.lines(update, now_ms), [_transition(a, now_ms) for a in alerts]

    def is_place(self, place_id: str) -> bool:
        return place_id in self._places

    def restore(self, place_id: str, since_ms: int, acked_by: str) -> bool:
        """A place's coverage_lost open before a restart; False for a place no longer in
        the key-places file (its alert is then closed, unsent)."""
        if place_id not in self._places:
            return False
        self.place_alerts.restore(place_id, since_ms, acked_by)
        return True

    def acknowledge(self, place_id: str, by: str, now_ms: int) -> Transition | None:
        """An operator's acknowledgement of a place's open coverage_lost; None unless open
        and not yet acknowledged."""
        if place_id not in self._numbers:
            return None
        alert = self.place_alerts.acknowledge(self.tracker, self._numbers[place_id], by)
        return None if alert is None else _transition(alert, now_ms)

    def open_alerts(self) -> list[dict[str, object]]:
        """The open coverage_lost alerts, shaped as the engine's (GET /alerts, the demo's
        view); never repeated, and the time of an acknowledgement is not kept."""
        acked = self.place_alerts.acked_by
        return [
            {"cabinet_id": place.id, "rule": RULE,
             "state": "acknowledged" if place.id in acked else "firing", "severity": SEVERITY,
             "summary": lost_text(self.tracker, self._numbers[place.id]), "since_ms": since,
             "changed_ms": since, "last_notified_ms": since, "repeats": 0, "stage": 0,
             "clear_since_ms": 0, "acked_by": acked.get(place.id, "")}
            for place, since in self.lost()
        ]  # fmt: skip

    def lost(self) -> list[tuple[Place, int]]:
        """The places whose coverage_lost is open, and since when, newest first."""
        return sorted(((self._places[p], since) for p, since in self.place_alerts.firing.items()),
                      key=lambda pair: -pair[1])  # fmt: skip

    def heartbeat(self, now_ms: int) -> Iterator[list[str]]:
        """Every place's, district's and the fleet's point, a slice at a time."""
        return self.tracker.all_lines(now_ms)

    def escalate(self, transition: Transition, readiness: Readiness) -> Transition:
        """A cabinet's alert one level up, naming the places its outage left uncovered, when
        it fires (or escalates) while the cabinet is out of service and is their only AED."""
        if transition.rule == RULE or transition.kind not in ("firing", "escalated"):
            return transition
        if readiness(transition.cabinet_id)[0] == READY:
            return transition
        lost = self.tracker.uncovered_by(transition.cabinet_id)
        if not lost:
            return transition
        return msgspec.structs.replace(
            transition, severity=ESCALATED.get(transition.severity, transition.severity),
            summary=transition.summary + uncovered_note(lost),
        )  # fmt: skip

    def alert_tags(self, place_id: str) -> str:
        """The tags of a place's `alert` point: the place and its district, never a cabinet."""
        place = self._places[place_id]
        return lp.tag_set({"place": place.id, "district": place.district})

    def text(self, transition: Transition) -> str:
        """A `coverage_lost` notification: the place, and the nearest ready AED left."""
        if transition.kind in ("resolved", "acknowledged"):
            return f"【AED】{transition.kind.upper()}: {transition.summary}."
        return f"【AED】{transition.summary}."


def _transition(alert: PlaceAlert, now_ms: int) -> Transition:
    return Transition(alert.place.id, RULE, alert.kind, SEVERITY, alert.summary,
                      alert.since_ms, now_ms)  # fmt: skip
