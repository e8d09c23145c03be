"""The alert lifecycle with an injected clock: what an operator would see and receive."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from aedfleet.alerts.engine import AlertEngine, Silence
from aedfleet.alerts.settings import Settings
from aedfleet.collector import protocol as p
from aedfleet.notify.messages import Transition

CAB = "bz-bc-001"
T0 = 1_795_820_400_000
MIN = 60_000


def event(
    kind: Callable[..., p.DeviceMessage], seq: int, at: int, **extra: object
) -> p.DeviceMessage:
    return kind(v=1, id=CAB, seq=seq, ts=at, sync=True, **extra)


def telemetry(at: int, **changes: object) -> p.Telemetry:
    values: dict[str, object] = dict(
        door=False, aed=True, maint=False, mains=True, batt_mv=12800, temp_dc=200,
        heater=False, rssi=-60, reconn=0, up_s=100, mem=90000, drop=0, fw="1.0.0",
        pad_exp=datetime.date(2028, 1, 1), batt_exp=datetime.date(2029, 1, 1),
    )  # fmt: skip
    values.update(changes)
    return p.Telemetry(v=1, id=CAB, seq=at // 1000, ts=at, sync=True, **values)  # type: ignore[arg-type]


def online(at: int) -> p.Online:
    return p.Online(v=1, id=CAB, seq=1, ts=at, sync=True, fw="1.0.0")


def kinds(transitions: list[Transition], rule: str | None = None) -> list[str]:
    return [t.kind for t in transitions if rule is None or t.rule == rule]


def engine(**settings: object) -> AlertEngine:
    created = AlertEngine(Settings(**settings), broker_grace_ms=0)  # type: ignore[arg-type]
    created.broker_connected(True, 0)
    created.on_message(online(T0), T0)
    created.on_message(telemetry(T0), T0)
    created.tick(T0)
    return created


def test_door_opening_fires_a_critical_alert_at_once() -> None:
    alerts = engine()
    out = alerts.on_message(event(p.DoorOpen, 2, T0 + 1000), T0 + 1000)
    assert [(t.rule, t.kind, t.severity) for t in out] == [("opened", "firing", "critical")]
    assert out[0].summary == "door opened"


def test_critical_alert_repeats_until_acknowledged_then_stops() -> None:
    alerts = engine()
    alerts.on_message(event(p.DoorOpen, 2, T0), T0)
    assert kinds(alerts.tick(T0 + 4 * MIN), "opened") == []
    assert kinds(alerts.tick(T0 + 5 * MIN), "opened") == ["repeat"]
    assert kinds(alerts.tick(T0 + 10 * MIN), "opened") == ["repeat"]
    ack = alerts.acknowledge(CAB, "opened", T0 + 11 * MIN, by="duty officer Li")
    assert ack is not None and ack.kind == "acknowledged"
    assert kinds(alerts.tick(T0 + 30 * MIN), "opened") == []


def test_closing_and_restocking_resolves_with_a_notice() -> None:
    alerts = engine()
    alerts.on_message(event(p.DoorOpen, 2, T0), T0)
    alerts.on_message(event(p.AedRemoved, 3, T0 + MIN), T0 + MIN)
    alerts.on_message(event(p.DoorClose, 4, T0 + 2 * MIN, open_s=120), T0 + 2 * MIN)
    back = T0 + 40 * MIN
    out = alerts.on_message(event(p.DoorOpen, 5, back), back)
    out += alerts.on_message(event(p.AedReturned, 6, back, out_s=2340), back)
    out += alerts.on_message(event(p.DoorClose, 7, back + 1000, open_s=1), back + 1000)
    out += alerts.tick(back + MIN)
    assert kinds(out, "opened") == ["resolved"]
    assert kinds(out, "aed_missing") == ["firing"]  # used: pads to replace
    assert alerts.readiness(CAB) == ("not_ready", "AED used, cabinet not yet restocked")
    alerts.on_message(event(p.MaintEnter, 8, back + 60 * MIN), back + 60 * MIN)
    alerts.on_message(event(p.MaintExit, 9, back + 70 * MIN, dur_s=600), back + 70 * MIN)
    assert kinds(alerts.tick(back + 72 * MIN), "aed_missing") == ["resolved"]
    assert alerts.readiness(CAB) == ("available", "")


def test_maintenance_opening_is_audit_only() -> None:
    alerts = engine()
    out = alerts.on_message(event(p.MaintEnter, 2, T0), T0)
    out += alerts.on_message(event(p.DoorOpen, 3, T0 + 1000), T0 + 1000)
    out += alerts.on_message(event(p.AedRemoved, 4, T0 + 2000), T0 + 2000)
    assert [(t.rule, t.kind) for t in out] == [("audit", "info")]
    assert alerts.readiness(CAB)[0] == "not_ready"


def test_chattering_door_raises_one_alert() -> None:
    alerts = engine()
    out: list[Transition] = []
    for step in range(40):  # open/close every 2 s for 80 s
        at = T0 + step * 2000
        kind = p.DoorOpen if step % 2 == 0 else p.DoorClose
        extra = {} if step % 2 == 0 else {"open_s": 2}
        out += alerts.on_message(event(kind, 10 + step, at, **extra), at)
        out += alerts.tick(at)
    assert kinds(out, "opened") == ["firing"]


def test_temperature_hovering_on_the_limit_fires_once() -> None:
    alerts = engine()
    out: list[Transition] = []
    for minute in range(60):
        at = T0 + minute * MIN
        temp_dc = -2 if minute % 2 else 1  # -0.2 °C / 0.1 °C around the 0 °C limit
        out += alerts.on_message(telemetry(at, temp_dc=temp_dc), at)
        out += alerts.tick(at)
    assert kinds(out, "temperature") == ["firing"]
    at = T0 + 61 * MIN
    for minute in range(10):  # well inside the range again
        alerts.on_message(telemetry(at + minute * MIN, temp_dc=150), at + minute * MIN)
        out += alerts.tick(at + minute * MIN)
    assert kinds(out, "temperature") == ["firing", "resolved"]


def test_heater_that_cannot_keep_up_is_named() -> None:
    alerts = engine()
    for minute in range(40):
        at = T0 + minute * MIN
        alerts.on_message(telemetry(at, temp_dc=-30, heater=True), at)
        alerts.tick(at)
    firing = alerts.alerts[(CAB, "temperature")]
    assert "heater not keeping up" in firing.summary


def test_offline_by_last_will_once_and_resolved_on_return() -> None:
    alerts = engine()
    will = p.Offline(v=1, id=CAB, seq=1, ts=T0, sync=True)
    out = alerts.on_message(will, T0 + MIN)
    for minute in range(2, 30):
        out += alerts.tick(T0 + minute * MIN)
    assert kinds(out, "offline") == ["firing"]
    assert alerts.readiness(CAB)[0] == "offline"
    out = alerts.on_message(online(T0 + 31 * MIN), T0 + 31 * MIN)
    assert kinds(out, "offline") == ["resolved"]


def test_missed_heartbeats_fire_once_per_outage() -> None:
    alerts = engine()
    out: list[Transition] = []
    for minute in range(1, 60):
        out += alerts.tick(T0 + minute * MIN)
    assert kinds(out, "offline") == ["firing"]
    assert out[0].summary == "cabinet silent (missed heartbeats)"


def test_an_offline_cabinet_raises_nothing_else() -> None:
    alerts = engine()
    alerts.on_message(p.Offline(v=1, id=CAB, seq=1, ts=T0, sync=True), T0)
    cold = telemetry(T0 + MIN, temp_dc=-100)  # a stale sample delivered late
    alerts.on_message(cold, T0 + MIN)
    out = alerts.tick(T0 + 20 * MIN)
    assert kinds(out, "temperature") == []


def test_a_sleeping_cabinet_is_not_offline_until_it_oversleeps() -> None:
    alerts = engine()
    wake = T0 + 60 * MIN
    alerts.on_message(p.Sleeping(v=1, id=CAB, seq=2, ts=T0, sync=True, wake=wake), T0)
    assert kinds(alerts.tick(wake + 5 * MIN), "offline") == []
    alerts.tick(wake + 11 * MIN)
    assert kinds(alerts.tick(wake + 12 * MIN), "offline") == ["firing"]


def test_no_offline_storm_while_the_collector_lacks_the_broker() -> None:
    alerts = AlertEngine(Settings())
    alerts.broker_connected(True, T0)
    for number in range(50):
        cabinet = f"bz-bc-{number:03d}"
        alerts.on_message(p.Online(v=1, id=cabinet, seq=1, ts=T0, sync=True, fw="1"), T0)
    alerts.broker_connected(False, T0 + MIN)
    out = alerts.tick(T0 + 60 * MIN)  # nothing heard for an hour: our fault, not theirs
    alerts.broker_connected(True, T0 + 61 * MIN)
    out += alerts.tick(T0 + 62 * MIN)
    assert kinds(out, "offline") == []
    # once the broker has been back for a whole heartbeat window, silence means something
    alerts.tick(T0 + 77 * MIN)
    assert len(kinds(alerts.tick(T0 + 78 * MIN), "offline")) == 50


def test_the_wills_of_a_restarting_broker_raise_no_offline_storm() -> None:
    alerts = AlertEngine(Settings(), broker_grace_ms=15 * MIN)
    alerts.broker_connected(True, T0 - 60 * MIN)
    cabinets = [f"bz-bc-{number:03d}" for number in range(50)]
    for cabinet in cabinets:
        alerts.on_message(p.Online(v=1, id=cabinet, seq=1, ts=T0, sync=True, fw="1"), T0)
    # the broker stops: it sends every cabinet's last will, then drops us
    at = T0 + MIN
    for cabinet in cabinets:
        alerts.on_message(p.Offline(v=1, id=cabinet, seq=2, ts=at, sync=True), at)
    out = alerts.tick(at + 1000)
    alerts.broker_connected(False, at + 2000)
    out += alerts.tick(at + 60_000)
    alerts.broker_connected(True, at + 90_000)  # back after a minute and a half
    out += alerts.tick(at + 120_000)
    for cabinet in cabinets[:-1]:  # all but one reconnect within their backoff
        alerts.on_message(p.Online(v=1, id=cabinet, seq=3, ts=at, sync=True, fw="1"), at + 150_000)
    out += alerts.tick(at + 10 * MIN)
    assert kinds(out, "offline") == []
    for cabinet in cabinets[:-1]:  # and keep reporting
        alerts.on_message(p.Online(v=1, id=cabinet, seq=4, ts=at, sync=True, fw="1"), at + 15 * MIN)
    # the one still gone once the broker has been back a heartbeat window is really offline
    out = alerts.tick(at + 18 * MIN) + alerts.tick(at + 19 * MIN)
    assert [(t.cabinet_id, t.kind) for t in out if t.rule == "offline"] == [
        (cabinets[-1], "firing")
    ]


def test_a_last_will_fires_after_the_broker_shutdown_hold() -> None:
    alerts = engine()
    alerts.on_message(p.Offline(v=1, id=CAB, seq=1, ts=T0, sync=True), T0 + MIN)
    assert kinds(alerts.tick(T0 + MIN + 20_000), "offline") == []
    assert kinds(alerts.tick(T0 + MIN + 31_000), "offline") == ["firing"]


def test_expiry_warnings_escalate_90_60_30_then_expire() -> None:
    alerts = engine()
    pads = datetime.date(2027, 3, 1)
    days_before = {95: [], 90: ["firing"], 61: [], 60: ["escalated"], 30: ["escalated"]}
    for days, expected in days_before.items():
        at = T0 + (93 - days) * 86_400_000  # T0 is 93 days before 1 March 2027 (China)
        alerts.on_message(telemetry(at, pad_exp=pads), at)
        assert kinds(alerts.tick(at), "expiring") == expected, days
    after = T0 + 94 * 86_400_000
    alerts.on_message(telemetry(after, pad_exp=pads), after)
    out = alerts.tick(after)
    assert kinds(out, "expired") == ["firing"]
    assert out[0].summary == "pads expired"


def test_mains_lost_with_low_battery_has_hysteresis() -> None:
    alerts = engine()
    out: list[Transition] = []
    for minute, batt_mv in enumerate([11700, 11900, 11750, 12000, 11790, 12100, 12300, 12300]):
        at = T0 + (minute * 2 + 1) * MIN
        out += alerts.on_message(telemetry(at, mains=False, batt_mv=batt_mv), at)
        out += alerts.tick(at)
    out += alerts.tick(T0 + 30 * MIN)
    assert kinds(out, "power") == ["firing", "resolved"]


def test_silenced_cabinet_still_tracks_but_says_so() -> None:
    alerts = engine()
    alerts.silence(Silence(CAB, "", T0 + 60 * MIN, "inspection"))
    out = alerts.on_message(event(p.DoorOpen, 2, T0 + MIN), T0 + MIN)
    assert [(t.kind, t.silenced) for t in out] == [("firing", True)]
    assert alerts.tick(T0 + 61 * MIN)[0].silenced is False  # the repeat after it ended


def test_door_ajar_with_the_aed_inside() -> None:
    alerts = engine()
    alerts.on_message(event(p.MaintEnter, 2, T0), T0)
    alerts.on_message(event(p.DoorOpen, 3, T0), T0)
    assert kinds(alerts.tick(T0 + 9 * MIN), "door_ajar") == []
    assert kinds(alerts.tick(T0 + 10 * MIN), "door_ajar") == ["firing"]


def test_a_door_used_during_an_outage_is_not_left_open_when_its_events_arrive() -> None:
    """The broker was down for 12 minutes; during it a technician opened and shut the door
    (the loaded-loop simulation's broker_restart cabinet). The queued opening arrives first:
    timed from its device time it would be 11 minutes open, and the guardian would get "door
    left open" for a door shut long ago, resolved by the closing right behind it."""
    alerts = engine()
    back = T0 + 12 * MIN
    out = alerts.on_message(event(p.MaintEnter, 2, T0 + MIN), back)
    out += alerts.on_message(event(p.DoorOpen, 3, T0 + MIN + 10_000), back)
    out += alerts.tick(back + 1000)
    out += alerts.on_message(event(p.DoorClose, 4, T0 + MIN + 30_000, open_s=20), back + 1000)
    out += alerts.tick(back + 20 * MIN)
    assert kinds(out, "door_ajar") == []


def test_a_door_left_open_through_an_outage_is_found_by_its_own_reports() -> None:
    """Opened during the outage and still open: the cabinet's own queued readings say so ten
    minutes after the opening, so the alert fires as they arrive; learned only from the late
    opening itself, it fires ten minutes after its arrival."""
    reported = engine()
    back = T0 + 15 * MIN
    reported.on_message(event(p.MaintEnter, 2, T0 + MIN), back)
    reported.on_message(event(p.DoorOpen, 3, T0 + MIN), back)
    assert kinds(reported.tick(back), "door_ajar") == []
    reported.on_message(telemetry(T0 + 11 * MIN, door=True, maint=True), back)
    assert kinds(reported.tick(back + 1000), "door_ajar") == ["firing"]
    learned = engine()
    learned.on_message(event(p.MaintEnter, 2, T0 + MIN), back)
    learned.on_message(event(p.DoorOpen, 3, T0 + MIN), back)
    assert kinds(learned.tick(back + 9 * MIN), "door_ajar") == []
    assert kinds(learned.tick(back + 10 * MIN), "door_ajar") == ["firing"]


def test_an_aed_taken_and_returned_during_an_outage_is_not_missing() -> None:
    alerts = engine()
    back = T0 + 70 * MIN
    out = alerts.on_message(event(p.MaintEnter, 2, T0 + MIN), back)
    out += alerts.on_message(event(p.AedRemoved, 3, T0 + 2 * MIN), back)
    out += alerts.tick(back + 1000)
    out += alerts.on_message(event(p.AedReturned, 4, T0 + 3 * MIN, out_s=60), back + 1000)
    assert kinds(out, "aed_missing") == []


def test_idempotency_keys_differ_per_transition() -> None:
    alerts = engine()
    first = alerts.on_message(event(p.DoorOpen, 2, T0), T0)[0]
    repeat = alerts.tick(T0 + 5 * MIN)[0]
    again = alerts.tick(T0 + 10 * MIN)[0]
    assert len({first.key, repeat.key, again.key}) == 3


def test_a_link_flapping_while_offline_fires_and_clears() -> None:
    """Each drop fires and clears `offline`; an offline cabinet raises nothing else, so the
    link's 30-minute hold starts again after every drop and `link` fires 30 minutes after the
    last one (the wifi_flapping scenario's timeline, in simulated time alone)."""
    alerts = engine()
    out: list[Transition] = []
    seq = 10
    back = T0
    for flap in range(1, 25):  # 24 drops of 40 s, every 2 minutes
        drop = T0 + flap * 2 * MIN
        back = drop + 40_000
        out += alerts.on_message(p.Offline(v=1, id=CAB, seq=seq, ts=drop, sync=True), drop)
        out += alerts.tick(drop + 31_000)
        out += alerts.on_message(online(back), back)
        out += alerts.on_message(telemetry(back, reconn=flap), back)
        out += alerts.tick(back + 1000)
        seq += 1
    assert kinds(out, "offline") == ["firing", "resolved"] * 24
    assert kinds(out, "link") == []
    for minute in range(1, 30):  # the cabinet keeps reporting, every 5 minutes
        if minute % 5 == 0:
            alerts.on_message(telemetry(back + minute * MIN, reconn=24), back + minute * MIN)
        out += alerts.tick(back + minute * MIN)
    assert kinds(out, "link") == []
    out += alerts.tick(back + 31 * MIN)
    assert kinds(out, "link") == ["firing"]
    assert alerts.alerts[(CAB, "link")].summary == "24 reconnects"
