"""Every query the dashboards send, run against InfluxDB as Grafana would send it: panels,
annotations and template variables, with the macros substituted for a chosen time range."""

from __future__ import annotations

from typing import Any, NamedTuple

from aedfleet.dashboards.boards import DASHBOARDS
from aedfleet.dashboards.grafana_macros import duration_ms, render
from aedfleet.dashboards.provisioning import dashboard_json
from aedfleet.dashboards.site import DEFAULT_SITE, Site
from aedfleet.influx_query import query


class PanelQuery(NamedTuple):
    dashboard: str  # its uid
    panel: str  # the panel's title, "annotation: …" or "variable: …"
    ref_id: str
    influxql: str
    time_from_ms: int | None = None  # the panel's own recent window (`timeFrom`), if any


def panel_queries(model: dict[str, Any]) -> list[PanelQuery]:
    uid = model["uid"]
    found = [
        PanelQuery(
            uid,
            panel["title"],
            target["refId"],
            target["query"],
            duration_ms(panel["timeFrom"]) if panel.get("timeFrom") else None,
        )
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


def all_queries(site: Site = DEFAULT_SITE) -> list[PanelQuery]:
    return [q for name in DASHBOARDS for q in panel_queries(dashboard_json(name, site))]


def run(
    influx_url: str,
    database: str,
    *,
    start_ms: int,
    end_ms: int,
    variables: dict[str, str | list[str]],
) -> list[tuple[PanelQuery, list[dict[str, Any]]]]:
    """Each query with the rows InfluxDB returned, over the dashboard range [start_ms, end_ms]
    or, for a panel with its own window, the last `timeFrom` before end_ms, as Grafana sends
    it; an InfluxDB error is raised, naming the query."""
    return [
        (q, query(influx_url, database, render(
            q.influxql, start_ms=start_ms if q.time_from_ms is None else end_ms - q.time_from_ms,
            end_ms=end_ms, variables=variables)))
        for q in all_queries()
    ]  # fmt: skip
