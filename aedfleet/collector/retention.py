"""How long InfluxDB keeps what, and the hourly and daily aggregates kept forever: created by
the collector at start when missing, so a second start changes nothing (docs/storage.md).

- the database's default retention policy (`autogen`, which every unqualified query reads)
  keeps everything for `[retention] raw` (about 13 months);
- the low-volume record (events, status, alerts, notifications, readiness changes, operator
  actions, dead letters) is also written to the `long` policy, kept for `[retention] long`;
  not the `readiness` heartbeat (every cabinet every minute: 14 M points a day at 10,000
  cabinets), whose history is its changes in `long` and its aggregates in `forever`;
- continuous queries (InfluxDB 1.x) write per-cabinet aggregates of telemetry and readiness
  for each interval of `[retention] aggregates` into the `forever` policy, e.g.
  `"forever"."telemetry_1h"`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any, Final

from aedfleet.collector.config import ConfigError, RetentionConfig
from aedfleet.collector.influx import InfluxUnavailableError, InfluxWriter, identifier

log = logging.getLogger("aedfleet.collector")

LONG_RP: Final = "long"
FOREVER_RP: Final = "forever"
KEPT_LONGER: Final = frozenset(
    ("event", "status", "alert", "notification", "readiness_change", "operator_action",
     "dead_letter")
)  # fmt: skip
_DURATION: Final = re.compile(r"^(\d+)([smhdw])$")
_UNIT_S: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_SHOWN: Final = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
# what each aggregate holds: (field expression, name) per source measurement
AGGREGATES: Final = {
    "telemetry": (
        ('mean("batt_v")', "batt_v"), ('min("batt_v")', "batt_v_min"),
        ('mean("temp_c")', "temp_c"), ('min("temp_c")', "temp_c_min"),
        ('max("temp_c")', "temp_c_max"), ('mean("rssi_dbm")', "rssi_dbm"),
        ('count("seq")', "samples"),
    ),
    "readiness": (('mean("available")', "availability"), ('count("available")', "samples")),
}  # fmt: skip


def seconds(duration: str) -> int:
    """`396d` → seconds; `INF` → 0, as InfluxDB shows an infinite duration."""
    if duration.upper() == "INF":
        return 0
    match = _DURATION.match(duration)
    if match is None:
        raise ConfigError(f"[retention] duration {duration!r}: a number and s, m, h, d or w")
    return int(match[1]) * _UNIT_S[match[2]]


def shown_seconds(shown: str) -> int:
    """InfluxDB's `9504h0m0s` → seconds."""
    match = _SHOWN.fullmatch(shown)
    if match is None:
        return -1
    hours, minutes, secs = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + secs


def aggregate_name(source: str, interval: str) -> str:
    return f"{source}_{interval}"


def continuous_queries(database: str, config: RetentionConfig) -> dict[str, str]:
    """Name → CREATE statement, for every aggregate and interval. Each covers twice its
    interval (RESAMPLE FOR), so a message that sat briefly in a cabinet's outbox still counts."""
    db = identifier(database)
    wanted = {}
    for interval in config.aggregates:
        late = f"{2 * seconds(interval)}s"
        for source, fields in AGGREGATES.items():
            name = f"aedfleet_{aggregate_name(source, interval)}"
            select = ", ".join(f"{expression} AS {identifier(as_)}" for expression, as_ in fields)
            into = f"{db}.{identifier(FOREVER_RP)}.{identifier(aggregate_name(source, interval))}"
            wanted[name] = (
                f"CREATE CONTINUOUS QUERY {identifier(name)} ON {db} "
                f"RESAMPLE EVERY {interval} FOR {late} BEGIN SELECT {select} INTO {into} "
                f"FROM {db}.{identifier('autogen')}.{identifier(source)} "
                f"GROUP BY time({interval}), * END"
            )
    return wanted


def _rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for result in document.get("results", []):
        if "error" in result:  # e.g. a user without admin rights: asking again will not help
            raise ConfigError(
                f"InfluxDB refused: {result['error']}; the collector's InfluxDB user needs "
                "admin rights to make retention policies, or set [retention] enabled = false"
            )
        for series in result.get("series", []):
            extra = {"series": series.get("name", "")}
            rows += [{**extra, **dict(zip(series["columns"], v, strict=True))}
                     for v in series.get("values", [])]  # fmt: skip
    return rows


async def plan(writer: InfluxWriter, database: str, config: RetentionConfig) -> list[str]:
    """The statements that bring InfluxDB to `config`; none when it is there already."""
    db = identifier(database)
    statements = []
    names = {row["name"] for row in _rows(await writer.query("SHOW DATABASES"))}
    if database not in names:
        statements.append(f"CREATE DATABASE {db}")
        policies: dict[str, dict[str, Any]] = {}
    else:
        rows = _rows(await writer.query(f"SHOW RETENTION POLICIES ON {db}"))
        policies = {row["name"]: row for row in rows}
    default = next((name for name, row in policies.items() if row["default"]), "autogen")
    if default != "autogen":
        raise ConfigError(
            f"database {database!r} reads from retention policy {default!r}, not autogen: "
            "aedfleet's queries expect autogen as the default"
        )
    for name, duration in (("autogen", config.raw), (LONG_RP, config.long),
                           (FOREVER_RP, "INF")):  # fmt: skip
        present = policies.get(name)
        rp = f"{identifier(name)} ON {db} DURATION {duration}"
        if present is None and name != "autogen":
            statements.append(f"CREATE RETENTION POLICY {rp} REPLICATION 1")
        elif present is None or shown_seconds(present["duration"]) != seconds(duration):
            statements.append(f"ALTER RETENTION POLICY {rp}")
    existing = {row["name"] for row in _rows(await writer.query("SHOW CONTINUOUS QUERIES"))
                if row["series"] == database}  # fmt: skip
    wanted = continuous_queries(database, config)
    statements += [create for name, create in wanted.items() if name not in existing]
    return statements


async def ensure_storage(writer: InfluxWriter, database: str, config: RetentionConfig) -> list[str]:
    """Create what is missing; returns the statements run (none on a second start)."""
    statements = await plan(writer, database, config)
    for statement in statements:
        _rows(await writer.query(statement, method="POST"))
        log.info("InfluxDB: %s", statement)
    return statements


async def keep_storage(
    writer: InfluxWriter,
    database: str,
    config: RetentionConfig,
    retry_s: Callable[[int], float] = lambda attempt: min(30.0, 0.5 * 2**attempt),
) -> None:
    """At start: ensure the policies and queries, retrying while InfluxDB is down (the
    collector spools meanwhile); then copy the low-volume record into `long` too."""
    if not config.enabled:
        return
    attempt = 0
    while True:
        try:
            await ensure_storage(writer, database, config)
            break
        except ConfigError as error:
            log.error("retention policies left as they are: %s", error)
            return
        except InfluxUnavailableError as error:
            log.warning("retention policies not checked yet: %s", error)
            await asyncio.sleep(retry_s(attempt))
            attempt += 1
    writer.keep_longer(LONG_RP, KEPT_LONGER)
