"""Pure alert rules: one function per rule of the catalogue (docs/alerts.md).

A rule reads a cabinet's state and the settings and says whether its condition holds now, how
severe it is and since when. `firing` is whether the alert is active already, so thresholds
can have hysteresis: a value hovering on a limit cannot make an alert flap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Literal

import msgspec

from aedfleet.alerts.state import CabinetState, days_until

Severity = Literal["critical", "high", "warning", "info"]


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Thresholds, for the fleet or (as overrides) for one cabinet."""

    repeat_critical_s: int = 300  # a critical alert repeats until acknowledged
    opened_clear_s: int = 30  # door shut and AED back this long before "opened" resolves
    aed_missing_after_s: int = 3600
    door_ajar_after_s: int = 600
    heartbeat_s: int = 300  # telemetry interval: offline after `missed_heartbeats` of them
    missed_heartbeats: int = 3
    # a stopping broker sends every cabinet's last will just before it drops the collector:
    # offline is held this long, so the collector sees the broker go before any of them fires
    offline_hold_s: int = 30
    sleep_grace_s: int = 600  # a sleeping cabinet is late only this long after its wake time
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
    utc_offset_minutes: int = 480


class Finding(msgspec.Struct, frozen=True):
    severity: Severity
    summary: str
    since_ms: int
    stage: int = 0  # expiring: which warning step (90, 60, 30 days); escalates when it rises


Rule = Callable[[CabinetState, Settings, int, bool], Finding | None]


def opened(s: CabinetState, _cfg: Settings, _now: int, firing: bool) -> Finding | None:
    """Door opened or AED removed outside maintenance: someone may be in cardiac arrest."""
    if s.maintenance and not firing:
        return None
    if s.door_open or not s.aed_present:
        what = "AED removed" if not s.aed_present else "door opened"
        since = s.aed_removed_since_ms if not s.aed_present else s.door_open_since_ms
        return Finding("critical", what, since)
    return None


def aed_missing(s: CabinetState, cfg: Settings, now: int, _firing: bool) -> Finding | None:
    if not s.aed_present and now - s.aed_removed_since_ms >= cfg.aed_missing_after_s * 1000:
        return Finding("high", "AED not returned", s.aed_removed_since_ms)
    if s.aed_present and s.restock_needed:
        return Finding("high", "AED used, cabinet not yet restocked", s.last_seen_ms)
    return None


def offline(s: CabinetState, cfg: Settings, now: int, _firing: bool) -> Finding | None:
    if s.status == "offline":
        return Finding("high", "cabinet offline (connection lost)", s.last_seen_ms)
    if s.status == "sleeping":
        if now > s.wake_ms + cfg.sleep_grace_s * 1000:
            return Finding("high", "cabinet did not wake up as planned", s.wake_ms)
        return None
    silent_ms = cfg.heartbeat_s * cfg.missed_heartbeats * 1000
    if s.last_seen_ms and now - s.last_seen_ms > silent_ms:
        return Finding("high", "cabinet silent (missed heartbeats)", s.last_seen_ms)
    return None


def temperature(s: CabinetState, cfg: Settings, now: int, firing: bool) -> Finding | None:
    if s.fault in ("temp_sensor", "heater"):
        return Finding("high", f"hardware fault: {s.fault}", s.last_seen_ms)
    if s.temp_c is None:
        return None
    band = cfg.temp_band_c if firing else 0.0
    if s.temp_c < cfg.temp_low_c + band:
        heater_failed = s.heater and now - s.heater_on_since_ms >= cfg.heater_fail_after_s * 1000
        what = "too cold, heater not keeping up" if heater_failed else "too cold for the AED"
        return Finding("high", f"{what}: {s.temp_c:.1f} °C", s.last_seen_ms)
    if s.temp_c > cfg.temp_high_c - band:
        return Finding("high", f"too hot for the AED: {s.temp_c:.1f} °C", s.last_seen_ms)
    return None


def expired(s: CabinetState, cfg: Settings, now: int, _firing: bool) -> Finding | None:
    gone = [
        name
        for name, date in (("pads", s.pad_exp), ("AED battery", s.batt_exp))
        if date is not None and days_until(date, now, cfg.utc_offset_minutes) < 0
    ]
    if gone:
        return Finding("high", " and ".join(gone) + " expired", s.last_seen_ms)
    return None


def expiring(s: CabinetState, cfg: Settings, now: int, _firing: bool) -> Finding | None:
    soonest: tuple[int, str] | None = None
    for name, date in (("pads", s.pad_exp), ("AED battery", s.batt_exp)):
        if date is None:
            continue
        days = days_until(date, now, cfg.utc_offset_minutes)
        if days >= 0 and (soonest is None or days < soonest[0]):
            soonest = (days, f"{name} expire on {date.isoformat()} ({days} days)")
    if soonest is None:
        return None
    steps = sorted(cfg.expiry_warn_days, reverse=True)
    stage = sum(1 for limit in steps if soonest[0] <= limit)
    if not stage:
        return None
    return Finding("warning", soonest[1], s.last_seen_ms, stage=stage)


def power(s: CabinetState, cfg: Settings, _now: int, firing: bool) -> Finding | None:
    limit = cfg.batt_ok_v if firing else cfg.batt_low_v
    if not s.mains and s.batt_v is not None and s.batt_v < limit:
        return Finding("high", f"mains lost, backup battery low: {s.batt_v:.2f} V", s.last_seen_ms)
    return None


def door_ajar(s: CabinetState, cfg: Settings, now: int, _firing: bool) -> Finding | None:
    if s.door_open and s.aed_present and now - s.door_open_since_ms >= cfg.door_ajar_after_s * 1000:
        return Finding("warning", "door left open", s.door_open_since_ms)
    return None


def link_health(s: CabinetState, cfg: Settings, _now: int, firing: bool) -> Finding | None:
    problems = []
    weak = cfg.rssi_ok_dbm if firing else cfg.rssi_weak_dbm
    if s.rssi_dbm is not None and s.rssi_dbm < weak:
        problems.append(f"weak signal {s.rssi_dbm} dBm")
    if s.reconnects >= cfg.reconnects_warn:
        problems.append(f"{s.reconnects} reconnects")
    if not s.synced:
        problems.append("clock not synced")
    if problems:
        return Finding("warning", ", ".join(problems), s.last_seen_ms)
    return None


# offline first: whether a cabinet is offline decides whether the others may fire
def near_a_limit(s: CabinetState, cfg: Settings) -> bool:
    """Whether a telemetry reading is close enough to a threshold that the rules must look
    again; ordinary readings (most of them) need no evaluation until the periodic sweep."""
    if s.temp_c is not None and not (
        cfg.temp_low_c + cfg.temp_band_c <= s.temp_c <= cfg.temp_high_c - cfg.temp_band_c
    ):
        return True
    if not s.mains and s.batt_v is not None and s.batt_v < cfg.batt_ok_v:
        return True
    if s.rssi_dbm is not None and s.rssi_dbm < cfg.rssi_ok_dbm:
        return True
    return s.reconnects >= cfg.reconnects_warn or not s.synced or bool(s.fault)


RULES: Final[dict[str, Rule]] = {
    "offline": offline,
    "opened": opened,
    "aed_missing": aed_missing,
    "temperature": temperature,
    "expired": expired,
    "expiring": expiring,
    "power": power,
    "door_ajar": door_ajar,
    "link": link_health,
}
# how long a condition must hold before it fires, and be gone before it resolves (flapping)
FIRE_AFTER_MS: Final = {"temperature": 300_000, "power": 60_000, "link": 1_800_000}
RESOLVE_AFTER_MS: Final = {"temperature": 300_000, "offline": 0}
