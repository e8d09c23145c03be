"""The InfluxQL of the boards' current-state panels: each reads the collector's `cabinet_state`
snapshot (docs/storage.md), one query per panel and no client-side join. They run over the
panel's fixed recent window (`timeFrom`), so their `$timeFilter` never follows the picker."""

from __future__ import annotations

from typing import Final

from aedfleet.alerts.snapshot import READINESS_STATES

SNAPSHOT: Final = '"cabinet_state"'
FLEET_COLUMNS: Final = (
    "state", "reason", "name", "address", "lat", "lon", "last_seen_ms", "batt_v", "temp_c",
    "pad_days", "batt_days", "alerts", "level", "alert_text", "acked", "silenced", "problem",
)  # fmt: skip


def _columns(names: tuple[str, ...]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def latest(names: tuple[str, ...] = FLEET_COLUMNS, where: str = "") -> str:
    """Each cabinet's latest snapshot point, stamped with its own time (raw points, one per
    series: never several `last()`s, which InfluxDB stamps with the range start)."""
    extra = f"{where} AND " if where else ""
    return (f"SELECT {_columns(names)} FROM {SNAPSHOT} WHERE {extra}$timeFilter "
            'GROUP BY "cabinet", "district" ORDER BY time DESC LIMIT 1')  # fmt: skip


def latest_where(
    names: tuple[str, ...], field: str, test: str, group_by: str = '"cabinet", "district"'
) -> str:
    """Each cabinet's latest snapshot, kept only when its `field` passes `test` (`> 0`) in
    that newest point, not in an older one: `last()` of every field (every point carries
    them all, so all come from the newest point), filtered outside."""
    inner = ", ".join(f'last("{name}") AS "{name}"' for name in dict.fromkeys((*names, field)))
    return (f"SELECT {_columns(names)} FROM (SELECT {inner} FROM {SNAPSHOT} WHERE $timeFilter "
            f'GROUP BY {group_by}) WHERE "{field}" {test} GROUP BY {group_by}')  # fmt: skip


def state_counts(labels: dict[str, str]) -> str:
    """One row: how many cabinets are in each readiness state, from the per-state 0/1 fields,
    so a state no cabinet is in reads 0 instead of vanishing."""
    inner = ", ".join(f'last("{state}") AS "{state}"' for state in READINESS_STATES)
    outer = ", ".join(f'sum("{state}") AS "{labels[state]}"' for state in READINESS_STATES)
    return (f"SELECT {outer} FROM (SELECT {inner} FROM {SNAPSHOT} WHERE $timeFilter "
            'GROUP BY "cabinet")')  # fmt: skip


SNAPSHOTS_WRITTEN: Final = f'SELECT count("state") AS "snapshots" FROM {SNAPSHOT} WHERE $timeFilter'
TELEMETRY_RECEIVED: Final = 'SELECT count("seq") AS "messages" FROM "telemetry" WHERE $timeFilter'

# the fleet's firmware versions: cabinets per version in each 5-minute bucket (every cabinet
# has a `firmware` point at least every `readiness_every_s`, written by the collector)
FIRMWARE_VERSIONS: Final = (
    'SELECT count("n") AS "cabinets" FROM (SELECT last("n") AS "n" FROM "firmware" '
    'WHERE $timeFilter GROUP BY time(5m), "cabinet", "fw") WHERE $timeFilter '
    'GROUP BY time(5m), "fw" fill(none)'
)
