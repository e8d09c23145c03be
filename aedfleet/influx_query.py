"""InfluxQL over InfluxDB's HTTP /query API (1.x, and the 1.x-compatible API of 2.x and 3.x)."""

from __future__ import annotations

from typing import Any

import httpx


def query(influx_url: str, database: str, influxql: str) -> list[dict[str, Any]]:
    """Rows of every series of every statement, as dicts with the series' tags merged in;
    an error InfluxDB reports is raised, never mistaken for no rows."""
    answer = httpx.get(
        f"{influx_url}/query", params={"db": database, "q": influxql, "epoch": "ms"}, timeout=30
    ).json()
    rows: list[dict[str, Any]] = []
    for result in answer.get("results", []):
        if "error" in result:
            raise InfluxQLError(f"{influxql}: {result['error']}")
        for series in result.get("series", []):
            tags = series.get("tags", {})
            rows.extend(
                {**tags, **dict(zip(series["columns"], v, strict=True))} for v in series["values"]
            )
    return rows


class InfluxQLError(Exception):
    """InfluxDB refused a query; the message holds the query and InfluxDB's reason."""
