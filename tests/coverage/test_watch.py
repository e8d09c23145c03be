"""What the collector's alerting shell gets from coverage: points and place alerts after
readiness changes, access hours in simulated time, and escalation of a sole cover's alert."""

from __future__ import annotations

import datetime

from aedfleet.coverage.tracker import CoverageTracker
from aedfleet.coverage.watch import CoverageWatch
from aedfleet.notify.messages import Transition
from tests.coverage.geometry import place, site

CST = datetime.timezone(datetime.timedelta(hours=8))
NOON = int(datetime.datetime(2026, 12, 1, 12, 0, tzinfo=CST).timestamp() * 1000)


def _watch() -> tuple[CoverageWatch, dict[str, str]]:
    # two cabinets 222 m apart; a place between them (two covers), one only the mall covers,
    # and a kiosk 50 m from the station, which the station's neighbour at 50 m also covers
    tracker = CoverageTracker(
        [place("between", 0, 0.001), place("mall_square", 0, -0.001),
         place("kiosk", 0, 0.00245)],
        [site("mall", 0, 0), site("station", 0, 0.002), site("neighbour", 0, 0.00245)],
        150.0, 480, NOON,
    )  # fmt: skip
    states = {"mall": "available", "station": "available", "neighbour": "available"}
    return CoverageWatch(tracker), states


def _fired(cabinet: str, rule: str = "offline", severity: str = "high") -> Transition:
    return Transition(cabinet, rule, "firing", severity, "cabinet offline (connection lost)",  # type: ignore[arg-type]
                      NOON, NOON)  # fmt: skip


def test_points_and_place_alerts_follow_readiness() -> None:
    watch, states = _watch()
    lines, alerts = watch.update(states, lambda c: (states[c], ""), NOON)
    assert alerts == [] and any("scope=fleet places=3i,covered_n=3i" in line for line in lines)
    assert watch.update(states, lambda c: (states[c], ""), NOON + 1000) == ([], [])  # no change
    states["mall"] = "offline"
    lines, alerts = watch.update(["mall"], lambda c: (states[c], ""), NOON + 2000)
    assert [(a.cabinet_id, a.rule, a.kind, a.severity) for a in alerts] == [
        ("mall_square", "coverage_lost", "firing", "high")]  # fmt: skip
    assert "nearest ready: Cabinet station (station), 334 m away" in alerts[0].summary
    assert watch.alert_tags("mall_square") == ",district=A,place=mall_square"
    assert watch.text(alerts[0]).startswith("【AED】Place mall_square: no ready AED within 150 m")
    states["mall"] = "available"
    _, alerts = watch.update(["mall"], lambda c: (states[c], ""), NOON + 3000)
    assert [(a.kind, a.since_ms) for a in alerts] == [("resolved", NOON + 2000)]


def test_a_sole_cover_going_out_escalates_and_names_the_places() -> None:
    watch, states = _watch()
    watch.update(states, lambda c: (states[c], ""), NOON)
    states["mall"] = "offline"
    watch.update(["mall"], lambda c: (states[c], ""), NOON + 1000)
    escalated = watch.escalate(_fired("mall"), lambda c: (states[c], ""))
    assert escalated.severity == "critical"
    assert escalated.summary.endswith("; only AED of Place mall_square, now uncovered")
    opened = watch.escalate(_fired("mall", "opened", "critical"), lambda c: (states[c], ""))
    assert opened.severity == "critical" and "Place mall_square" in opened.summary


def test_a_cabinet_with_a_ready_neighbour_50_m_away_keeps_its_severity() -> None:
    watch, states = _watch()
    watch.update(states, lambda c: (states[c], ""), NOON)
    states["station"] = "offline"
    watch.update(["station"], lambda c: (states[c], ""), NOON + 1000)
    fired = _fired("station")
    assert watch.escalate(fired, lambda c: (states[c], "")) == fired
    # nor does an alert of a cabinet still ready (a warning that leaves it in service)
    link = Transition("mall", "link", "firing", "warning", "weak signal", NOON, NOON)
    assert watch.escalate(link, lambda c: (states[c], "")) == link


def test_access_hours_closing_fires_and_opening_resolves() -> None:
    tracker = CoverageTracker([place("p", 0, 0.001)], [site("mall", 0, 0, hours="08:00-20:00")],
                              150.0, 480, NOON)  # fmt: skip
    watch = CoverageWatch(tracker)
    ready = lambda _c: ("available", "")  # noqa: E731
    watch.update(["mall"], ready, NOON)
    _, alerts = watch.update([], ready, NOON + 8 * 3_600_000)  # 20:00
    assert [a.kind for a in alerts] == ["firing"]
    _, alerts = watch.update([], ready, NOON + 20 * 3_600_000)  # 08:00 the next day
    assert [a.kind for a in alerts] == ["resolved"]
