"""A cluster node that dies sends no last will for its cabinets (issue 25, docs/ha.md): the
engine judges them offline from missed heartbeats alone, on its injected clock. The retained
status they leave behind still says `online`."""

from __future__ import annotations

import datetime

from aedfleet.alerts.engine import AlertEngine
from aedfleet.alerts.settings import Settings
from aedfleet.collector import protocol as p
from aedfleet.notify.messages import Transition

STRANDED, MOVED = "bz-bc-001", "bz-bc-002"  # a cabinet that cannot reach another node; one that can
T0 = 1_795_820_400_000
SECOND, MINUTE = 1000, 60_000
WINDOW = 300 * 3 * SECOND  # Settings' heartbeat_s x missed_heartbeats: 15 minutes
HOLD = 30 * SECOND  # Settings' offline_hold_s


def telemetry(cabinet: str, seq: int, at: int) -> p.Telemetry:
    return p.Telemetry(
        v=1, id=cabinet, seq=seq, ts=at, sync=True, door=False, aed=True, maint=False,
        mains=True, batt_mv=12800, temp_dc=200, heater=False, rssi=-60, reconn=0, up_s=100,
        mem=90000, drop=0, fw="1.0.0", pad_exp=datetime.date(2028, 1, 1),
        batt_exp=datetime.date(2029, 1, 1),
    )  # fmt: skip


def birth(cabinet: str, seq: int, at: int) -> p.Online:
    return p.Online(v=1, id=cabinet, seq=seq, ts=at, sync=True, fw="1.0.0")


def offline_alerts(transitions: list[Transition]) -> list[tuple[str, str, str]]:
    return [(t.cabinet_id, t.kind, t.summary) for t in transitions if t.rule == "offline"]


def both_online(alerts: AlertEngine) -> None:
    """Both cabinets born and reporting on the node that is about to die, until T0."""
    for cabinet in (STRANDED, MOVED):
        alerts.on_message(birth(cabinet, 2, T0 - 10 * MINUTE), T0 - 10 * MINUTE)
        alerts.on_message(telemetry(cabinet, 3, T0), T0)


class Fired(list[tuple[str, str, str]]):
    """The offline alerts that fired, and when the first did."""

    first_at = 0


def _twenty_minutes(alerts: AlertEngine, start: int, *, first_seq: int, first_tick: int) -> Fired:
    """Ticks every 10 s for 20 minutes from `first_tick`; MOVED keeps reporting every 5."""
    out = Fired()
    for at in range(first_tick, start + 20 * MINUTE, 10 * SECOND):
        if (at - start) % (5 * MINUTE) == 0:
            alerts.on_message(telemetry(MOVED, first_seq + (at - start) // MINUTE, at), at)
        firing = offline_alerts(alerts.tick(at))
        if firing and not out:
            out.first_at = at
        out += firing
    return out


def test_a_dead_nodes_cabinet_is_offline_from_missed_heartbeats_without_a_will() -> None:
    """The collector is on another node and stays connected."""
    alerts = AlertEngine(Settings())
    alerts.broker_connected(True, T0 - 60 * MINUTE)
    both_online(alerts)
    # T0 + 1 s: the cabinets' node dies. No will. MOVED is on another node 11 s later
    alerts.on_message(birth(MOVED, 5, T0 + 11 * SECOND), T0 + 11 * SECOND)  # seq 4: its will
    out = _twenty_minutes(alerts, T0, first_seq=5, first_tick=T0 + MINUTE)
    assert out == [(STRANDED, "firing", "cabinet silent (missed heartbeats)")]
    assert out.first_at >= T0 + WINDOW + HOLD, "offline before the heartbeats were missed"
    assert alerts.cabinet(STRANDED).status == "online"  # what the dead node left retained
    assert alerts.readiness(STRANDED)[0] == "offline"
    assert alerts.readiness(MOVED)[0] != "offline"


def test_when_the_collector_lost_the_same_node_silence_counts_from_its_reconnect() -> None:
    """The collector was on the dead node too: it reconnects to another node 10 s later and
    its persistent session delivers the retained birth again, which is no sign of life. Silence
    counts only once the collector has had the broker for a heartbeat window."""
    alerts = AlertEngine(Settings())
    alerts.broker_connected(True, T0 - 60 * MINUTE)
    both_online(alerts)
    died, back = T0 + SECOND, T0 + 10 * SECOND
    alerts.broker_connected(False, died)
    alerts.broker_connected(True, back)
    for cabinet in (STRANDED, MOVED):  # the retained births, redelivered
        alerts.on_message(birth(cabinet, 2, T0 - 10 * MINUTE), back)
    assert alerts.cabinet(STRANDED).last_seen_ms == T0
    alerts.on_message(birth(MOVED, 5, T0 + 11 * SECOND), T0 + 11 * SECOND)
    out = _twenty_minutes(alerts, back, first_seq=6, first_tick=back)
    assert out == [(STRANDED, "firing", "cabinet silent (missed heartbeats)")]
    assert out.first_at >= back + WINDOW + HOLD, "offline before the collector trusted its broker"
