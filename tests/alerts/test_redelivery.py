"""At-least-once delivery meets the alert engine: a message already folded changes nothing
(also after a restart), a stale one never moves a cabinet's state backwards, and an opening
keeps its device time, hence its alert identity."""

from __future__ import annotations

from pathlib import Path

import msgspec

from aedfleet.alerts.engine import AlertEngine
from aedfleet.alerts.settings import Settings
from aedfleet.alerts.state import SEQ_WINDOW
from aedfleet.alerts.store import AlertStore
from aedfleet.collector import protocol as p
from aedfleet.notify.messages import Transition
from tests.alerts.test_engine import CAB, MIN, T0, kinds, telemetry

SEC = 1000


def fresh() -> AlertEngine:
    alerts = AlertEngine(Settings(opened_clear_s=1), broker_grace_ms=0)
    alerts.broker_connected(True, 0)
    alerts.on_message(p.Online(v=1, id=CAB, seq=11, ts=T0, sync=True, fw="1.0.0"), T0)
    alerts.on_message(tele(12, T0), T0)
    alerts.tick(T0)
    return alerts


def tele(seq: int, ts: int, **changes: object) -> p.Telemetry:
    return msgspec.structs.replace(telemetry(ts, **changes), seq=seq)


def door_open(seq: int, ts: int) -> p.DoorOpen:
    return p.DoorOpen(v=1, id=CAB, seq=seq, ts=ts, sync=True)


def door_close(seq: int, ts: int) -> p.DoorClose:
    return p.DoorClose(v=1, id=CAB, seq=seq, ts=ts, sync=True, open_s=5)


def opening_and_resolution(alerts: AlertEngine) -> list[Transition]:
    out = alerts.on_message(door_open(13, T0 + 10 * SEC), T0 + 10 * SEC)
    out += alerts.on_message(door_close(14, T0 + 15 * SEC), T0 + 15 * SEC)
    out += alerts.tick(T0 + 20 * SEC)
    return out


def redelivered(alerts: AlertEngine, at: int) -> list[Transition]:
    out = alerts.on_message(door_open(13, T0 + 10 * SEC), at)
    out += alerts.on_message(door_close(14, T0 + 15 * SEC), at + 1)
    for minute in range(1, 4):
        out += alerts.tick(at + minute * MIN)
    return out


def test_an_opening_redelivered_after_its_resolution_fires_nothing() -> None:
    alerts = fresh()
    assert kinds(opening_and_resolution(alerts), "opened") == ["firing", "resolved"]
    assert redelivered(alerts, T0 + 10 * MIN) == []
    assert alerts.redeliveries == 2


def test_the_record_of_what_was_folded_survives_a_restart(tmp_path: Path) -> None:
    alerts = fresh()
    opening_and_resolution(alerts)
    store = AlertStore(tmp_path / "alerts.sqlite3")
    store.save(alerts, {CAB})
    store.close()
    restarted = AlertEngine(Settings(opened_clear_s=1), broker_grace_ms=0)
    restarted.broker_connected(True, 0)
    AlertStore(tmp_path / "alerts.sqlite3").load(restarted)
    assert redelivered(restarted, T0 + 10 * MIN) == []


def test_an_opening_keeps_its_device_time_when_it_arrives_late() -> None:
    alerts = fresh()
    out = alerts.on_message(door_open(13, T0 + 10 * SEC), T0 + 70 * SEC)
    assert [(t.rule, t.kind, t.since_ms) for t in out] == [("opened", "firing", T0 + 10 * SEC)]


def test_a_stale_sample_never_reopens_a_closed_door() -> None:
    alerts = fresh()
    opening_and_resolution(alerts)
    # telemetry taken while the door was open, delivered late on the other connection
    out = alerts.on_message(tele(20, T0 + 12 * SEC, door=True), T0 + 30 * SEC)
    out += alerts.tick(T0 + 31 * SEC) + alerts.tick(T0 + 10 * MIN)
    assert kinds(out, "opened") == []
    assert alerts.cabinets[CAB].door_open is False


def test_an_old_redelivery_beyond_the_remembered_window_still_moves_nothing() -> None:
    alerts = fresh()
    opening_and_resolution(alerts)
    for n in range(SEQ_WINDOW + 5):
        alerts.on_message(tele(15 + n, T0 + (16 + n) * SEC), T0 + (16 + n) * SEC)
    at = T0 + 10 * MIN
    out = alerts.on_message(door_open(13, T0 + 10 * SEC), at)
    out += alerts.tick(at + MIN)
    assert kinds(out, "opened") == []
    assert alerts.cabinets[CAB].door_open is False


def test_events_queued_offline_and_sent_after_the_birth_are_folded() -> None:
    alerts = fresh()
    # made while offline (seq 13, older), sent after the reconnect's will (14) and birth (15)
    alerts.on_message(p.Online(v=1, id=CAB, seq=15, ts=T0 + 60 * SEC, sync=True, fw="1.0.0"),
                      T0 + 60 * SEC)  # fmt: skip
    out = alerts.on_message(door_open(13, T0 + 30 * SEC), T0 + 61 * SEC)
    assert [(t.rule, t.kind, t.since_ms) for t in out] == [("opened", "firing", T0 + 30 * SEC)]


def test_a_will_is_news_after_its_own_birth_but_stale_after_a_later_one() -> None:
    alerts = fresh()
    will = p.Offline(v=1, id=CAB, seq=10, ts=T0 - SEC, sync=True)  # set before birth 11
    alerts.on_message(will, T0 + MIN)
    assert alerts.cabinets[CAB].status == "offline"
    late = alerts.on_message(tele(13, T0 + 30 * SEC), T0 + MIN + 1)  # the session's backlog
    assert late == [] and alerts.cabinets[CAB].status == "offline"
    alerts.on_message(p.Online(v=1, id=CAB, seq=21, ts=T0 + 2 * MIN, sync=True, fw="1.0.0"),
                      T0 + 2 * MIN)  # fmt: skip
    old_will = p.Offline(v=1, id=CAB, seq=18, ts=T0 + MIN, sync=True)  # an older connection's
    alerts.on_message(old_will, T0 + 3 * MIN)
    assert alerts.cabinets[CAB].status == "online"


def test_a_reset_sequence_counter_is_not_taken_for_redeliveries() -> None:
    alerts = fresh()
    opening_and_resolution(alerts)
    later = T0 + 60 * MIN  # the device was re-flashed: its seq starts again, its clock is synced
    out = alerts.on_message(door_open(13, later), later)
    assert [(t.rule, t.kind, t.since_ms) for t in out] == [("opened", "firing", later)]
