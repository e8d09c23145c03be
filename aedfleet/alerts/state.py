"""Pure: what the collector knows about each cabinet, folded from its messages.

Delivery is at least once and the two MQTT connections are not ordered with each other, so a
message may come twice, or after newer ones. `first_sighting` recognises a message already
folded by the cabinet's `seq` (the last SEQ_WINDOW of them, kept with the state across
restarts); `fold` lets a message change a fact only when it is at least as new, by synced
device time, as what last set that fact, so a stale message never moves the state backwards.
The moments a condition began are the device's, where its clock is synced: a redelivered
opening has the same `since`, hence the same alert identity and idempotency key.
"""

from __future__ import annotations

import datetime
from typing import Final

import msgspec

from aedfleet.collector import protocol as p

SEQ_WINDOW: Final = 63  # the sequence numbers remembered below the highest folded (one int)
_SEQ_MASK: Final = (1 << SEQ_WINDOW) - 1


class CabinetState(msgspec.Struct, gc=False):
    """The last known facts of one cabinet; everything the alert rules read."""

    cabinet_id: str
    last_seen_ms: int = 0
    status: str = "unknown"  # online, offline, sleeping, unknown
    wake_ms: int = 0
    door_open: bool = False
    door_open_since_ms: int = 0
    door_learned_ms: int = 0  # when the opening reached the collector (0: restored from before)
    aed_present: bool = True
    aed_removed_since_ms: int = 0
    aed_learned_ms: int = 0  # when the removal reached the collector
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
    # which messages were folded: the highest seq, and a bit for each of the SEQ_WINDOW below
    seq_top: int = -1
    seq_seen: int = 0
    newest_ts_ms: int = 0  # the newest synced device time folded
    # the synced device time of the message that last set each fact (0: none yet, or unsynced)
    status_ts_ms: int = 0
    door_ts_ms: int = 0
    aed_ts_ms: int = 0
    maint_ts_ms: int = 0
    mains_ts_ms: int = 0
    fault_ts_ms: int = 0
    telemetry_ts_ms: int = 0
    birth_seq: int = -1  # the seq of the last `online`: wills of older connections are stale


def first_sighting(state: CabinetState, message: p.DeviceMessage) -> bool:
    """Record `message` as folded; False when it was folded before (a redelivery).

    A message older than the window cannot be told apart and counts as new: `fold` still
    keeps it from moving a fact backwards. A synced message newer than everything folded is
    new whatever its seq (a device whose counter was reset)."""
    seq = message.seq
    top = state.seq_top
    if message.sync and message.ts > state.newest_ts_ms:
        state.newest_ts_ms = message.ts
        if seq <= top and top - seq < SEQ_WINDOW and state.seq_seen >> (top - seq) & 1:
            state.seq_top, state.seq_seen = seq, 1  # a reset counter: start the window again
            return True
    if seq > top:
        shift = seq - top
        state.seq_seen = (state.seq_seen << shift | 1) & _SEQ_MASK if shift < SEQ_WINDOW else 1
        state.seq_top = seq
        return True
    offset = top - seq
    if offset >= SEQ_WINDOW:
        return True
    if state.seq_seen >> offset & 1:
        return False
    state.seq_seen |= 1 << offset
    return True


def fold(state: CabinetState, message: p.DeviceMessage, at_ms: int) -> list[str]:
    """Update `state` with one message; returns the audit facts worth an info record
    (maintenance opening, AED returned, firmware change)."""
    if type(message) is p.Telemetry:  # the common case first: thousands a second
        fold_telemetry(state, message, at_ms)
        return []
    state.last_seen_ms = max(state.last_seen_ms, at_ms)
    # device time orders the facts where it is synced; an unsynced message is taken as it comes
    ts = message.ts if message.sync else 0
    when = message.ts if message.sync else at_ms
    if isinstance(message, p.Online | p.Offline | p.Sleeping):
        return _fold_status(state, message, ts)
    audit = _fold_event(state, message, ts, when, at_ms)
    _heard(state, ts)
    return audit


def _fold_status(state: CabinetState, message: p.Status, ts: int) -> list[str]:
    audit: list[str] = []
    match message:
        case p.Online(fw=fw):
            if ts >= state.status_ts_ms:
                state.status_ts_ms = ts
                state.status = "online"
                state.birth_seq = max(state.birth_seq, message.seq)
            if state.fw and fw != state.fw:
                audit.append(f"firmware {state.fw} -> {fw}")
            state.fw = fw
        case p.Offline(seq=seq):
            # the broker publishes a last will when the connection it was set on ends, but
            # with the seq and time of that connection's start: stale only once a later
            # connection's birth (after the will's own, seq + 1) was folded
            if state.birth_seq <= seq + 1:
                state.status_ts_ms = max(state.status_ts_ms, ts)
                state.status = "offline"
        case p.Sleeping(wake=wake):
            if ts >= state.status_ts_ms:
                state.status_ts_ms = ts
                state.status = "sleeping"
                state.wake_ms = wake
    return audit


def _fold_event(  # noqa: PLR0912 - one branch per event
    state: CabinetState, message: p.DeviceMessage, ts: int, when: int, at_ms: int
) -> list[str]:
    audit: list[str] = []
    match message:
        case p.DoorOpen() | p.DoorClose():
            if ts >= state.door_ts_ms:
                state.door_ts_ms = ts
                opened = type(message) is p.DoorOpen
                if opened and not state.door_open:
                    state.door_open_since_ms, state.door_learned_ms = when, at_ms
                state.door_open = opened
        case p.AedRemoved():
            if ts >= state.aed_ts_ms:
                state.aed_ts_ms = ts
                if state.aed_present:
                    state.aed_removed_since_ms, state.aed_learned_ms = when, at_ms
                state.aed_present = False
        case p.AedReturned(out_s=seconds):
            if ts >= state.aed_ts_ms:
                state.aed_ts_ms = ts
                state.aed_present = True
                if not state.maintenance:
                    state.restock_needed = True
                audit.append(f"AED returned after {seconds // 60} min")
        case p.MaintEnter() | p.MaintExit():
            if ts >= state.maint_ts_ms:
                state.maint_ts_ms = ts
                entered = type(message) is p.MaintEnter
                state.maintenance = entered
                if entered:
                    audit.append("maintenance opening")
                elif state.aed_present:
                    state.restock_needed = False  # the technician's visit restocks the cabinet
        case p.MainsLost() | p.MainsRestored():
            if ts >= state.mains_ts_ms:
                state.mains_ts_ms = ts
                state.mains = type(message) is p.MainsRestored
        case p.Fault(code=code):
            if ts >= state.fault_ts_ms:
                state.fault_ts_ms = ts
                state.fault = code
        case p.SelfTest(ok=ok):
            if ok and ts >= state.fault_ts_ms:
                state.fault_ts_ms = ts
                state.fault = ""
    return audit


def lasted_ms(since_ms: int, reported_ms: int, learned_ms: int, now_ms: int) -> int:
    """How long a condition that began at `since_ms` has held, as far as is known: until the
    cabinet's own latest report of it, or from when the collector learned of it until now. A
    change learned late (queued through an outage) counts from its arrival, so its end, queued
    right behind it, comes first; the cabinet's own later reports of it count in full."""
    return max(reported_ms - since_ms, now_ms - max(since_ms, learned_ms))


def _heard(state: CabinetState, ts: int) -> None:
    """Anything a cabinet sends proves it is there, unless newer news says otherwise; after a
    last will only its next connection's birth says it is back."""
    if state.status != "offline" and ts >= state.status_ts_ms:
        state.status_ts_ms = ts
        state.status = "online"


def fold_telemetry(state: CabinetState, t: p.Telemetry, at_ms: int) -> bool:
    """`fold` for a telemetry message, written out: it runs for nearly every message. True when
    a fact the rules watch on every change moved: door, AED, maintenance, mains, heater, status
    or an expiry date."""
    state.last_seen_ms = max(state.last_seen_ms, at_ms)
    ts = t.ts if t.sync else 0
    when = t.ts if t.sync else at_ms
    status = state.status
    changed = _fold_switches(state, t, ts, when, at_ms)
    _heard(state, ts)
    changed = changed or state.status != status
    if ts < state.telemetry_ts_ms:
        return changed  # an older sample than the one held
    state.telemetry_ts_ms = ts
    state.batt_v = t.batt_mv / 1000
    state.temp_c = None if t.temp_dc is None else t.temp_dc / 10
    if t.heater != state.heater:
        changed = True
        if t.heater:
            state.heater_on_since_ms = when
        state.heater = t.heater
    state.rssi_dbm = t.rssi
    state.reconnects = t.reconn
    state.synced = t.sync
    state.fw = state.fw or t.fw  # a firmware change is reported by the birth message
    if t.pad_exp != state.pad_exp or t.batt_exp != state.batt_exp:
        changed = True
        state.pad_exp = t.pad_exp
        state.batt_exp = t.batt_exp
    return changed


def _fold_switches(state: CabinetState, t: p.Telemetry, ts: int, when: int, at_ms: int) -> bool:
    """Door, AED, maintenance and mains, each where the message is at least as new as what
    last set it; True when one moved."""
    changed = False
    if ts >= state.door_ts_ms:
        state.door_ts_ms = ts
        if t.door and not state.door_open:
            state.door_open_since_ms, state.door_learned_ms = when, at_ms
        changed |= t.door != state.door_open
        state.door_open = t.door
    if ts >= state.aed_ts_ms:
        state.aed_ts_ms = ts
        if state.aed_present and not t.aed:
            state.aed_removed_since_ms, state.aed_learned_ms = when, at_ms
        changed |= t.aed != state.aed_present
        state.aed_present = t.aed
    if ts >= state.maint_ts_ms:
        state.maint_ts_ms = ts
        changed |= t.maint != state.maintenance
        state.maintenance = t.maint
    if ts >= state.mains_ts_ms:
        state.mains_ts_ms = ts
        changed |= t.mains != state.mains
        state.mains = t.mains
    return changed
