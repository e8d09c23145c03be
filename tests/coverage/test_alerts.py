"""coverage_lost opens when a place loses its last usable AED, names the nearest one left,
and resolves when the place is covered again; the escalation note names what a cabinet's
outage left uncovered."""

from aedfleet.coverage.alerts import ESCALATED, PlaceAlerts, uncovered_note
from aedfleet.coverage.tracker import CoverageTracker
from tests.coverage.geometry import place, site


def _tracker() -> CoverageTracker:
    return CoverageTracker(
        [place("between", 0, 0.001), place("mall_square", 0, -0.001)],
        [site("mall", 0, 0), site("station", 0, 0.002)],
        150.0, 480, 0,
    )  # fmt: skip


def test_lost_names_the_place_and_the_nearest_ready_aed_then_resolves() -> None:
    tracker, alerts = _tracker(), PlaceAlerts()
    for cabinet in ("mall", "station"):
        assert alerts.on_update(tracker, tracker.on_readiness(cabinet, "available"), 1000) == []
    lost = alerts.on_update(tracker, tracker.on_readiness("mall", "not_ready"), 2000)
    assert [(a.place.id, a.kind, a.since_ms) for a in lost] == [("mall_square", "firing", 2000)]
    assert lost[0].summary == ("Place mall_square: no ready AED within 150 m; nearest ready: "
                               "Cabinet station (station), 334 m away")  # fmt: skip
    # still uncovered when the station goes too: no second alert for the same loss
    assert alerts.on_update(tracker, tracker.on_readiness("station", "offline"), 3000)[0].summary \
        == "Place between: no ready AED within 150 m, and none anywhere"  # fmt: skip
    back = alerts.on_update(tracker, tracker.on_readiness("mall", "available"), 4000)
    assert sorted((a.place.id, a.kind, a.since_ms) for a in back) == [
        ("between", "resolved", 3000), ("mall_square", "resolved", 2000)]  # fmt: skip
    assert alerts.firing == {}


def test_a_place_never_covered_raises_nothing() -> None:
    tracker, alerts = _tracker(), PlaceAlerts()
    assert alerts.on_update(tracker, tracker.on_readiness("station", "offline"), 1000) == []


def test_escalation_is_one_level_and_the_note_names_the_places() -> None:
    assert [ESCALATED[s] for s in ("warning", "high", "critical")] == ["high", "critical",
                                                                      "critical"]  # fmt: skip
    places = [place(f"p{n}", 0, 0) for n in range(5)]
    assert uncovered_note(places[:1]) == "; only AED of Place p0, now uncovered"
    assert uncovered_note(places) == (
        "; only AED of Place p0, Place p1, Place p2 and 2 more, now uncovered"
    )
