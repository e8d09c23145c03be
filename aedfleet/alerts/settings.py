"""The alert thresholds, defined once: the keys of the collector configuration's [alerts]
section (aedfleet/collector/config.py embeds them; aedfleet.sample.toml documents them), what
the rules judge by, and what the dashboards colour their values by."""

from __future__ import annotations

from typing import Annotated

import msgspec

_Positive = Annotated[int, msgspec.Meta(gt=0)]


class Thresholds(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """For the fleet or (as overrides) for one cabinet."""

    repeat_critical_s: _Positive = 300  # a critical alert repeats until acknowledged
    opened_clear_s: _Positive = 30  # door shut and AED back this long before "opened" resolves
    resolve_hold_s: _Positive = 60  # any other condition gone this long before its alert resolves
    aed_missing_after_s: _Positive = 3600
    door_ajar_after_s: _Positive = 600
    heartbeat_s: _Positive = 300  # telemetry interval: offline after `missed_heartbeats` of them
    missed_heartbeats: _Positive = 3
    # a stopping broker sends every cabinet's last will just before it drops the collector:
    # offline is held this long, so the collector sees the broker go before any of them fires
    offline_hold_s: int = 30
    sleep_grace_s: _Positive = 600  # a sleeping cabinet is late only this long after its wake
    temp_low_c: float = 0.0
    temp_high_c: float = 50.0
    temp_band_c: float = 1.0  # back in range only this far inside it
    heater_fail_after_s: int = 1800  # heater on, still below range this long
    batt_low_v: float = 11.8
    batt_ok_v: float = 12.2
    rssi_weak_dbm: int = -85
    rssi_ok_dbm: int = -80
    reconnects_warn: int = 20  # since boot
    expiry_warn_days: tuple[int, ...] = (90, 60, 30)


class Settings(Thresholds, frozen=True):
    """What the rules read: the thresholds, and the fleet's local time (from [fleet]), in
    which pads and batteries expire."""

    utc_offset_minutes: int = 480
