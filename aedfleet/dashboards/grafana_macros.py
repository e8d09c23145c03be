"""What Grafana sends InfluxDB for a panel's InfluxQL: `$timeFilter`, `$__interval` and
template variables substituted as Grafana's InfluxDB data source substitutes them, so a panel's
query can be run here exactly as the ops room's Grafana would run it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

# Grafana's interval rounding (rangeutil.roundInterval): raw interval ms -> interval ms
_ROUNDING: Final = (
    (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000),
    (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000),
    (45000, 30000), (90000, 60000), (210000, 120000), (450000, 300000), (750000, 600000),
    (1050000, 900000), (1500000, 1200000), (2700000, 1800000), (5400000, 3600000),
    (9000000, 7200000), (16200000, 10800000), (32400000, 21600000), (86400000, 43200000),
    (604800000, 86400000), (1814400000, 604800000), (3628800000, 2592000000),
)  # fmt: skip
_UNITS: Final = (("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000),
                 ("s", 1000), ("ms", 1))  # fmt: skip
_REGEX_SPECIAL: Final = re.compile(r"[\\^$*+?.()|\[\]{}/]")
_VARIABLE: Final = re.compile(r"\$\{(\w+)\}|\$(\w+)")
# a variable's custom "All" value: Grafana's template service inserts it as it is, unescaped
ALL_VALUE: Final = ".*"


def round_interval(raw_ms: float) -> int:
    for below, interval in _ROUNDING:
        if raw_ms < below:
            return interval
    return 31_536_000_000


def interval_text(ms: int) -> str:
    """An interval as an InfluxQL duration, the largest whole unit first: 60000 -> 1m."""
    for unit, size in _UNITS:
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def duration_ms(text: str) -> int:
    """A Grafana relative time such as `5m` or `now-5m` (a panel's `timeFrom`) in ms."""
    amount = text.removeprefix("now-")
    for unit, size in _UNITS:
        number = amount.removesuffix(unit)
        if number != amount and number.isdigit():
            return int(number) * size
    raise ValueError(f"not a Grafana relative time: {text!r}")


def panel_interval(start_ms: int, end_ms: int, max_data_points: int, min_interval_ms: int) -> str:
    raw = (end_ms - start_ms) / max_data_points
    return interval_text(max(round_interval(raw), min_interval_ms))


def render(
    influxql: str,
    *,
    start_ms: int,
    end_ms: int,
    variables: Mapping[str, str | list[str]] | None = None,
    max_data_points: int = 1000,
    min_interval_ms: int = 60_000,
) -> str:
    """The query Grafana would send for the dashboard range [start_ms, end_ms]; variables
    inside a /regex/ are escaped, and several values become (a|b)."""
    text = influxql.replace("$timeFilter", f"time >= {start_ms}ms and time <= {end_ms}ms")
    interval = panel_interval(start_ms, end_ms, max_data_points, min_interval_ms)
    text = text.replace("$__interval", interval)
    values = variables or {}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            return match.group(0)
        value = values[name]
        if value == ALL_VALUE:
            return ALL_VALUE
        if isinstance(value, list):
            return "(" + "|".join(_REGEX_SPECIAL.sub(r"\\\g<0>", v) for v in value) + ")"
        return _REGEX_SPECIAL.sub(r"\\\g<0>", value)

    return _VARIABLE.sub(substitute, text)


def variables_used(influxql: str) -> set[str]:
    """Template variables a query refers to (Grafana's own `$__…` and `$timeFilter` aside)."""
    names = {m.group(1) or m.group(2) for m in _VARIABLE.finditer(influxql)}
    return {name for name in names if not name.startswith("__") and name != "timeFilter"}
