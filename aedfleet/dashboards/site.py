"""What a site's collector configuration means for its boards: the alert thresholds (the same
`Settings` the alert rules read, so a board colours a value exactly where an alert fires) and
how often the collector writes its `cabinet_state` snapshot (how old "current" may be)."""

from __future__ import annotations

from pathlib import Path
from typing import Final, NamedTuple

from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.models import dashboard as model

from aedfleet.alerts.settings import Settings
from aedfleet.collector.config import load_config, settings_from
from aedfleet.collector.retention import seconds

# a snapshot older than this many heartbeats means the collector has stopped writing
STALE_AFTER_HEARTBEATS: Final = 3
MIN_WINDOW_S: Final = 300


class Site(NamedTuple):
    alerts: Settings = Settings()
    heartbeat_s: int = 60  # the collector's alerts.readiness_every_s
    raw_retention: str = "396d"  # [retention] raw: older trends come from the aggregates
    # the finest of [retention] aggregates (docs/storage.md); known only from a collector
    # configuration (whose collector made the "forever" policy the boards then read)
    aggregate: str | None = None

    @property
    def window(self) -> str:
        """The fixed recent window of every current-state panel, as Grafana's `timeFrom`."""
        seconds = max(MIN_WINDOW_S, STALE_AFTER_HEARTBEATS * self.heartbeat_s)
        return f"{-(-seconds // 60)}m"

    @property
    def worklist_days(self) -> int:
        return max(self.alerts.expiry_warn_days, default=90)


DEFAULT_SITE: Final = Site()


def site_from(config_path: Path | None) -> Site:
    """The site's boards from its collector configuration (file and AEDFLEET_* environment, as
    the collector reads it); the defaults without a file."""
    if config_path is None:
        return Site()
    config = load_config(config_path)
    fleet, _ = settings_from(config)
    retention = config.retention
    finest = min(retention.aggregates, key=seconds, default=None) if retention.enabled else None
    return Site(fleet, config.alerts.readiness_every_s, retention.raw, finest)


def _steps(*steps: tuple[float | None, str]) -> board.ThresholdsConfig:
    return (
        board.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=value, color=color) for value, color in steps])
    )


def battery_v(s: Settings) -> board.ThresholdsConfig:
    """Red below the `power` alert's limit, yellow until it resolves, green above."""
    return _steps((None, "red"), (s.batt_low_v, "yellow"), (s.batt_ok_v, "green"))


def temperature_c(s: Settings) -> board.ThresholdsConfig:
    """Red outside [temp_low_c, temp_high_c], where the `temperature` alert fires."""
    return _steps((None, "red"), (s.temp_low_c, "green"), (s.temp_high_c, "red"))


def rssi_dbm(s: Settings) -> board.ThresholdsConfig:
    return _steps((None, "red"), (s.rssi_weak_dbm, "yellow"), (s.rssi_ok_dbm, "green"))


def days_left(s: Settings) -> board.ThresholdsConfig:
    """Red once expired, then the `expiring` warning steps (90, 60, 30 days by default)."""
    warn = sorted(s.expiry_warn_days)
    steps: list[tuple[float | None, str]] = [(None, "red"), (0, "orange")]
    if warn:
        steps += [(warn[0] + 1, "yellow"), (warn[-1] + 1, "green")]
    return _steps(*steps)
