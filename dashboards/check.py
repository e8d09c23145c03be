"""Every query the dashboards send, run against InfluxDB as Grafana would send it: panels,
annotations and template variables, with the macros substituted for a chosen time range."""

from __future__ import annotations

from typing import Any, NamedTuple

from aedfleet.influxql import query
from dashboards.boards import DASHBOARDS
from dashboards.grafana_macros import render
from dashboards.provisioning import dashboard_json


class PanelQuery(NamedTuple):
    dashboard: str  # its uid
    panel: str  # the panel's title, "annotation: …" or "variable: …"
    ref_id: str
    influxql: str


def panel_queries(model: dict[str, Any]) -> list[PanelQuery]:
    uid = model["uid"]
    found = [
        PanelQuery(uid, panel["title"], target["refId"], target["query"])
        for panel in model.get("panels", [])
        for target in panel.get("targets", [])
    ]
    found += [
        PanelQuery(uid, f"annotation: {a['name']}", "Anno", a["query"])
        for a in model.get("annotations", {}).get("list", [])
        if "query" in a
    ]
    found += [
        PanelQuery(uid, f"variable: {v['name']}", "var", v["query"])
        for v in model.get("templating", {}).get("list", [])
        if v.get("type") == "query"
    ]
    return found


def all_queries() -> list[PanelQuery]:
    return [q for name in DASHBOARDS for q in panel_queries(dashboard_json(name))]


def run(
    influx_url: str,
    database: str,
    *,
    start_ms: int,
    end_ms: int,
    variables: dict[str, str | list[str]],
) -> list[tuple[PanelQuery, list[dict[str, Any]]]]:
    """Each query with the rows InfluxDB returned; an InfluxDB error is raised, naming it."""
    return [
        (q, query(influx_url, database,
                  render(q.influxql, start_ms=start_ms, end_ms=end_ms, variables=variables)))
        for q in all_queries()
    ]  # fmt: skip
