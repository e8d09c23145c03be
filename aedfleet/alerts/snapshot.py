"""Pure: the `cabinet_state` snapshot, one point per cabinet with everything the ops room's
current-state panels show (docs/storage.md), so each of them is one query over a short, fixed
recent window: no join of several measurements, no `last()` over the dashboard's range.

A point is written when what it says changes (readiness, an alert opening, acknowledged,
silenced or resolved, a switch, an expiry date) and for the whole fleet at a steady heartbeat:
a collector that stops writing shows as stale on the boards, never as a frozen green.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import msgspec

from aedfleet.alerts.engine import OPEN_STATES, Alert, AlertEngine
from aedfleet.alerts.rules import RULES
from aedfleet.alerts.state import CabinetState
from aedfleet.collector import lineprotocol as lp
from aedfleet.collector.clock import days_until
from aedfleet.collector.enrich import PointEncoder
from aedfleet.collector.inventory import Inventory
from aedfleet.notify.messages import Severity

MEASUREMENT: Final = "cabinet_state"
READINESS_STATES: Final = ("available", "in_use", "not_ready", "offline")
SEVERITY_ORDER: Final = ("critical", "high", "warning")  # worst first
ALERT_TEXT_CHARS: Final = 400


def open_alerts(engine: AlertEngine, cabinet_id: str) -> list[Alert]:
    """A cabinet's firing or acknowledged alerts, worst first."""
    found = [
        alert
        for rule in RULES
        if (alert := engine.alerts.get((cabinet_id, rule))) is not None
        and alert.state in OPEN_STATES
    ]
    return sorted(found, key=_rank)


def _rank(alert: Alert) -> int:
    return SEVERITY_ORDER.index(alert.severity) if alert.severity in SEVERITY_ORDER else 3


_FLAGS: Final = {
    state: ",".join(f"{name}={int(state == name)}i" for name in READINESS_STATES)
    for state in READINESS_STATES
}


def _alert_fields(alerts: list[Alert], silenced: list[bool]) -> str:
    acked = sum(1 for a in alerts if a.state == "acknowledged")
    worst = alerts[0].severity if alerts else ""
    text = "; ".join(
        f"{a.rule}: {a.summary}"
        + (f" (acknowledged by {a.acked_by})" if a.state == "acknowledged" else "")
        + (" (silenced)" if quiet else "")
        for a, quiet in zip(alerts, silenced, strict=True)
    )[:ALERT_TEXT_CHARS]
    since = min((a.since_ms for a in alerts), default=0)
    return (
        f"alerts={len(alerts)}i,level={lp.string(worst)},alert_text={lp.string(text)},"
        f"acked={acked}i,unacked={len(alerts) - acked}i,silenced={sum(silenced)}i,"
        f"alert_since_ms={since}i"
    )


_NO_ALERTS: Final = _alert_fields([], [])


def _facts(s: CabinetState | None, now_ms: int, utc_offset_minutes: int) -> str:
    if s is None:
        return ""
    fields = (
        f",door_open={lp.boolean(s.door_open)},aed_present={lp.boolean(s.aed_present)},"
        f"mains={lp.boolean(s.mains)},maintenance={lp.boolean(s.maintenance)}"
    )
    if s.last_seen_ms:
        fields += f",last_seen_ms={s.last_seen_ms}i"
    if s.batt_v is not None:
        fields += f",batt_v={float(s.batt_v)!r}"
    if s.temp_c is not None:
        fields += f",temp_c={float(s.temp_c)!r}"
    if s.pad_exp is not None:
        days = days_until(s.pad_exp, now_ms, utc_offset_minutes)
        fields += f',pad_exp="{s.pad_exp}",pad_days={days}i'
    if s.batt_exp is not None:
        days = days_until(s.batt_exp, now_ms, utc_offset_minutes)
        fields += f',batt_exp="{s.batt_exp}",batt_days={days}i'
    return fields


class Snapshots:
    """Builds `cabinet_state` lines from the alert engine and the inventory, remembering
    what each cabinet's last point said so that between heartbeats only changes are written."""

    def __init__(self, engine: AlertEngine, inventory: Inventory, encoder: PointEncoder) -> None:
        self._engine = engine
        self._inventory = inventory
        self._encoder = encoder
        self._last: dict[str, tuple[object, ...]] = {}
        self._heads: dict[str, str] = {}
        self._places: dict[str, str] = {}
        # (cabinet, rule) -> (since_ms, severity): an open alert that coverage escalated (it
        # was the only AED of some place), shown at that severity; set by the shell
        self.escalated: dict[tuple[str, str], tuple[int, Severity]] = {}

    def lines(self, cabinet_ids: Iterable[str], now_ms: int, *, force: bool) -> list[str]:
        """Points for the cabinets whose state changed (all of them when `force`)."""
        out = []
        for cabinet_id in cabinet_ids:
            line = self._line(cabinet_id, now_ms, force=force)
            if line is not None:
                out.append(line)
        return out

    def _line(self, cabinet_id: str, now_ms: int, *, force: bool) -> str | None:
        engine = self._engine
        state, reason = engine.readiness(cabinet_id)
        cabinet = engine.cabinets.get(cabinet_id)
        alerts = self._as_escalated(open_alerts(engine, cabinet_id))
        silenced = [engine.is_silenced(a, now_ms) for a in alerts]
        settings = engine.settings_for(cabinet_id)
        key: tuple[object, ...] = (
            state, reason, tuple((a.rule, a.state, a.severity, a.summary) for a in alerts),
            tuple(silenced),
            None if cabinet is None else (cabinet.door_open, cabinet.aed_present, cabinet.mains,
                                          cabinet.maintenance, cabinet.pad_exp, cabinet.batt_exp),
        )  # fmt: skip
        if not force and self._last.get(cabinet_id) == key:
            return None
        self._last[cabinet_id] = key
        problem = state != "available" or any(a.severity in ("critical", "high") for a in alerts)
        return (
            f"{self._head(cabinet_id)} state={lp.string(state)},reason={lp.string(reason)},"
            f"{_FLAGS[state]},problem={int(problem)}i,"
            f"{_alert_fields(alerts, silenced) if alerts else _NO_ALERTS}"
            f"{_facts(cabinet, now_ms, settings.utc_offset_minutes)}"
            f"{self._place(cabinet_id)} {now_ms}"
        )

    def _as_escalated(self, alerts: list[Alert]) -> list[Alert]:
        """The alerts at the severity coverage escalated them to, worst first."""
        if not self.escalated:
            return alerts
        out = []
        for alert in alerts:
            found = self.escalated.get((alert.cabinet_id, alert.rule))
            if found is not None and found[0] == alert.since_ms:
                out.append(msgspec.structs.replace(alert, severity=found[1]))
            else:
                out.append(alert)
        return sorted(out, key=_rank)

    def _head(self, cabinet_id: str) -> str:
        """The measurement and the cabinet's tags: the inventory's, the same every time."""
        head = self._heads.get(cabinet_id)
        if head is None:
            head = self._heads[cabinet_id] = f"{MEASUREMENT}{self._encoder.tags(cabinet_id)}"
        return head

    def _place(self, cabinet_id: str) -> str:
        """Where the cabinet is, and the picker's label (its id then its name): inventory
        fields, escaped once per cabinet."""
        fields = self._places.get(cabinet_id)
        if fields is None:
            place = self._inventory.get(cabinet_id)
            label = cabinet_id if place is None else f"{cabinet_id} {place.name}"
            fields = f"{self._encoder.place(cabinet_id)},label={lp.string(label)}"
            fields += f",address={lp.string(place.address)}" if place is not None else ""
            self._places[cabinet_id] = fields
        return fields
