"""Pure alert rules: one function per rule of the catalogue (docs/alerts.md).

A rule reads a cabinet's state and the settings and says whether its condition holds now, how
severe it is and since when. `firing` is whether the alert is active already, so thresholds
can have hysteresis: a value hovering on a limit cannot make an alert flap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, NamedTuple

import msgspec

from aedfleet.alerts.settings import Settings
from aedfleet.alerts.state import CabinetState, lasted_ms
from aedfleet.collector.clock import days_until
from aedfleet.notify.messages import Role, Severity


class Finding(msgspec.Struct, frozen=True):
    severity: Severity
    summary: str
    since_ms: int
    stage: int = 0  # expiring: which warning step (90, 60, 30 days); escalates when it rises


# whether a rule's condition holds: (state, settings, now_ms, firing already) -> finding
Judge = Callable[[CabinetState, Settings, int, bool], Finding | None]


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
    # timed as far as is known: an AED taken and returned in an outage is not missing
    if (
        not s.aed_present
        and lasted_ms(s.aed_removed_since_ms, s.aed_ts_ms, s.aed_learned_ms, now)
        >= cfg.aed_missing_after_s * 1000
    ):
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
    if (
        s.door_open
        and s.aed_present
        and lasted_ms(s.door_open_since_ms, s.door_ts_ms, s.door_learned_ms, now)
        >= cfg.door_ajar_after_s * 1000
    ):
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


# Whether a telemetry reading is close enough to a rule's threshold that the rules must look
# again; ordinary readings (most of them) need no evaluation until the periodic sweep.
Nearness = Callable[[CabinetState, Settings], bool]


def temperature_near(s: CabinetState, cfg: Settings) -> bool:
    if s.temp_c is not None and not (
        cfg.temp_low_c + cfg.temp_band_c <= s.temp_c <= cfg.temp_high_c - cfg.temp_band_c
    ):
        return True
    return bool(s.fault)


def power_near(s: CabinetState, cfg: Settings) -> bool:
    return not s.mains and s.batt_v is not None and s.batt_v < cfg.batt_ok_v


def link_near(s: CabinetState, cfg: Settings) -> bool:
    if s.rssi_dbm is not None and s.rssi_dbm < cfg.rssi_ok_dbm:
        return True
    return s.reconnects >= cfg.reconnects_warn or not s.synced


def hold(ms: int) -> Callable[[Settings], int]:
    """A fixed hold, whatever the settings."""
    return lambda _settings: ms


class Rule(NamedTuple):
    """A rule of the catalogue with its whole policy: the engine and the shell read these
    fields and never a rule's name. A new rule is one entry in RULES."""

    judge: Judge
    routes: tuple[Role, ...]  # who is told (the catalogue's notify column)
    text_zh: str  # what the Chinese SMS says it is (the English one uses the finding's summary)
    fire_after_ms: Callable[[Settings], int] = hold(0)  # the condition holds this long first
    # and is gone this long after (the fleet's resolve_hold_s unless the rule has its own)
    resolve_after_ms: Callable[[Settings], int] = lambda s: s.resolve_hold_s * 1000
    # an open alert of a rule that means offline holds back the others' new alerts (those
    # inhibited while offline), makes the cabinet "offline" on the map, and is believed only
    # while the collector has trusted its broker for a heartbeat window
    means_offline: bool = False
    inhibited_while_offline: bool = True
    not_ready_rank: int | None = None  # open, it makes the cabinet not ready; lowest rank says why
    # for a rule judging telemetry readings: whether one is near its limit (see Nearness)
    near_limit: Nearness | None = None


RULES: Final[dict[str, Rule]] = {
    "offline": Rule(
        offline, ("duty",), "机柜离线",
        fire_after_ms=lambda s: s.offline_hold_s * 1000, resolve_after_ms=hold(0),
        means_offline=True, inhibited_while_offline=False,
    ),
    "opened": Rule(
        opened, ("duty", "guardian"), "柜门被打开或AED被取出",
        resolve_after_ms=lambda s: s.opened_clear_s * 1000, not_ready_rank=5,
    ),
    "aed_missing": Rule(aed_missing, ("duty",), "AED未归还或使用后未补充", not_ready_rank=1),
    "temperature": Rule(
        temperature, ("guardian", "duty"), "柜内温度超出AED工作范围",
        fire_after_ms=hold(300_000), resolve_after_ms=hold(300_000), not_ready_rank=3,
        near_limit=temperature_near,
    ),
    "expired": Rule(
        expired, ("guardian", "technician"), "电极片或AED电池已过期", not_ready_rank=2
    ),
    "expiring": Rule(expiring, ("guardian", "technician"), "电极片或AED电池即将过期"),
    "power": Rule(
        power, ("guardian",), "市电中断且备用电池电量低",
        fire_after_ms=hold(60_000), not_ready_rank=4, near_limit=power_near,
    ),
    "door_ajar": Rule(door_ajar, ("guardian",), "柜门长时间未关闭"),
    # operator only: the webhook and the dashboards
    "link": Rule(
        link_health, (), "网络信号或时钟异常", fire_after_ms=hold(1_800_000), near_limit=link_near
    ),
}  # fmt: skip
