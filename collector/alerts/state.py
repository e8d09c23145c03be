"""Pure: what the collector knows about each cabinet, folded from its messages."""

from __future__ import annotations

import datetime

import msgspec

from collector import protocol as p

_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()


class CabinetState(msgspec.Struct, gc=False):
    """The last known facts of one cabinet; everything the alert rules read."""

    cabinet_id: str
    last_seen_ms: int = 0
    status: str = "unknown"  # online, offline, sleeping, unknown
    wake_ms: int = 0
    door_open: bool = False
    door_open_since_ms: int = 0
    aed_present: bool = True
    aed_removed_since_ms: int = 0
    maintenance: bool = False
    restock_needed: bool = False  # the AED came back from use: pads to replace
    mains: bool = True
    batt_v: float | None = None
    temp_c: float | None = None
    heater: bool = False
    heater_on_since_ms: int = 0
    rssi_dbm: int | None = None
    reconnects: int = 0
    synced: bool = True
    fw: str = ""
    pad_exp: datetime.date | None = None
    batt_exp: datetime.date | None = None
    fault: str = ""


def days_until(expiry: datetime.date, now_ms: int, utc_offset_minutes: int) -> int:
    today = (now_ms + utc_offset_minutes * 60_000) // 86_400_000
    return expiry.toordinal() - _EPOCH_ORDINAL - today


def fold(  # noqa: PLR0912 - one branch per message type
    state: CabinetState, message: p.DeviceMessage, at_ms: int
) -> list[str]:
    """Update `state` with one message; returns the audit facts worth an info record
    (maintenance opening, AED returned, firmware change)."""
    state.last_seen_ms = max(state.last_seen_ms, at_ms)
    if type(message) is p.Telemetry:  # the common case first: thousands a second
        _fold_telemetry(state, message, at_ms)
        state.status = "online"
        return []
    audit: list[str] = []
    match message:
        case p.Online(fw=fw):
            state.status = "online"
            if state.fw and fw != state.fw:
                audit.append(f"firmware {state.fw} -> {fw}")
            state.fw = fw
        case p.Offline():
            state.status = "offline"
        case p.Sleeping(wake=wake):
            state.status = "sleeping"
            state.wake_ms = wake
        case p.DoorOpen():
            state.door_open = True
            state.door_open_since_ms = at_ms
        case p.DoorClose():
            state.door_open = False
        case p.AedRemoved():
            state.aed_present = False
            state.aed_removed_since_ms = at_ms
        case p.AedReturned(out_s=seconds):
            state.aed_present = True
            if not state.maintenance:
                state.restock_needed = True
            audit.append(f"AED returned after {seconds // 60} min")
        case p.MaintEnter():
            state.maintenance = True
            audit.append("maintenance opening")
        case p.MaintExit():
            state.maintenance = False
            if state.aed_present:
                state.restock_needed = False  # the technician's visit restocks the cabinet
        case p.MainsLost():
            state.mains = False
        case p.MainsRestored():
            state.mains = True
        case p.Fault(code=code):
            state.fault = code
        case p.SelfTest(ok=ok):
            if ok:
                state.fault = ""
    if not isinstance(message, p.Offline | p.Sleeping):
        state.status = "online"  # anything else it sends proves it is there
    return audit


def _fold_telemetry(state: CabinetState, t: p.Telemetry, at_ms: int) -> None:
    if t.door and not state.door_open:
        state.door_open_since_ms = at_ms
    state.door_open = t.door
    if not t.aed and state.aed_present:
        state.aed_removed_since_ms = at_ms
    state.aed_present = t.aed
    state.maintenance = t.maint
    state.mains = t.mains
    state.batt_v = t.batt_mv / 1000
    state.temp_c = None if t.temp_dc is None else t.temp_dc / 10
    if t.heater and not state.heater:
        state.heater_on_since_ms = at_ms
    state.heater = t.heater
    state.rssi_dbm = t.rssi
    state.reconnects = t.reconn
    state.synced = t.sync
    state.fw = state.fw or t.fw  # a firmware change is reported by the birth message
    state.pad_exp = t.pad_exp
    state.batt_exp = t.batt_exp
