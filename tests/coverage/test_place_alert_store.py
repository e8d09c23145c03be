"""Open coverage_lost alerts kept in the alert store: given back after a restart, an open one
is neither sent again when its place is found uncovered nor forgotten when the place is
covered again; an acknowledgement is kept too (docs/coverage.md)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from aedfleet.alerts.engine import Alert
from aedfleet.alerts.migrations import CURRENT
from aedfleet.alerts.store import AlertStore, OpenPlace
from aedfleet.coverage.tracker import CoverageTracker
from aedfleet.coverage.watch import CoverageWatch
from tests.coverage.geometry import place, site
from tests.coverage.test_watch import NOON


def _watch() -> CoverageWatch:
    # the square's only AED is the mall's; the station covers the other place with the mall
    return CoverageWatch(CoverageTracker(
        [place("between", 0, 0.001), place("mall_square", 0, -0.001)],
        [site("mall", 0, 0), site("station", 0, 0.002)], 150.0, 480, NOON,
    ))  # fmt: skip


def test_the_store_keeps_open_places_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "alerts.sqlite3"
    store = AlertStore(path)
    store.place_opened("mall_square", NOON)
    store.place_opened("between", NOON + 1)
    store.place_acknowledged("mall_square", "ops")
    store.place_closed("between")
    store.close()
    store = AlertStore(path)
    assert store.open_places() == {"mall_square": OpenPlace(NOON, "ops")}
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == CURRENT >= 3


def test_a_restored_alert_is_not_sent_again_and_resolves() -> None:
    states = {"mall": "available", "station": "available"}
    readiness = lambda c: (states[c], "")  # noqa: E731
    before = _watch()  # the collector before its restart
    before.update(states, readiness, NOON)
    states["mall"] = "offline"
    _, fired = before.update(["mall"], readiness, NOON + 1000)
    assert [(t.cabinet_id, t.kind) for t in fired] == [("mall_square", "firing")]

    after = _watch()  # restarted: every cabinet unheard of, the open alert given back
    assert after.restore("mall_square", NOON + 1000, "")
    assert not after.restore("gone", NOON, "")  # no longer a key place
    assert [a["cabinet_id"] for a in after.open_alerts()] == ["mall_square"]
    states["station"] = "available"
    assert after.update(["station", "mall"], readiness, NOON + 5000)[1] == []
    # the mall back, then out and back again: each loss after the resolution is a new alert
    states["mall"] = "available"
    _, back = after.update(["mall"], readiness, NOON + 6000)
    assert [(t.cabinet_id, t.kind, t.since_ms, t.key) for t in back] == [
        ("mall_square", "resolved", NOON + 1000,
         f"mall_square:coverage_lost:{NOON + 1000}:resolved:0")]  # fmt: skip
    assert after.open_alerts() == []


def test_a_place_alert_is_acknowledged_once_and_the_ack_outlives_a_restart() -> None:
    states = {"mall": "available", "station": "available"}
    readiness = lambda c: (states[c], "")  # noqa: E731
    watch = _watch()
    watch.update(states, readiness, NOON)
    assert watch.acknowledge("mall_square", "ops", NOON) is None  # nothing open
    states["mall"] = "offline"
    watch.update(["mall"], readiness, NOON + 1000)
    acked = watch.acknowledge("mall_square", "ops", NOON + 2000)
    assert acked is not None and (acked.kind, acked.since_ms) == ("acknowledged", NOON + 1000)
    assert watch.text(acked).startswith("【AED】ACKNOWLEDGED: Place mall_square: no ready AED")
    assert watch.acknowledge("mall_square", "ops", NOON + 3000) is None  # once
    assert watch.acknowledge("nowhere", "ops", NOON + 3000) is None
    [listed] = watch.open_alerts()
    assert (listed["state"], listed["acked_by"], listed["severity"]) == ("acknowledged", "ops",
                                                                         "high")  # fmt: skip
    after = _watch()
    after.restore("mall_square", NOON + 1000, "ops")
    assert after.open_alerts()[0]["state"] == "acknowledged"
    assert after.acknowledge("mall_square", "ops", NOON + 4000) is None


def test_a_listed_place_alert_has_every_field_of_an_engine_alert() -> None:
    states = {"mall": "offline", "station": "available"}
    watch = _watch()
    watch.update(["station"], lambda c: (states[c], ""), NOON)
    watch.restore("mall_square", NOON, "")
    [listed] = watch.open_alerts()
    assert set(listed) == set(Alert.__struct_fields__)
