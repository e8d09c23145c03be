"""Fleet overview: the map, the readiness counts and trend, every cabinet problems first, and
the collector's health (is anything arriving at all, and how fast)."""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.builders import geomap, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import geomap as geomap_model

from aedfleet.dashboards import queries, site
from aedfleet.dashboards.layout import Sized, place
from aedfleet.dashboards.panels import (
    COLOURED_CELL,
    LINK_TO_CABINET,
    ONE_TABLE,
    SINCE,
    coloured,
    current,
    freshness,
    new_board,
    readiness_mappings,
    renamed,
    setting,
    state_counts,
    transformation,
    worst_alert,
)
from aedfleet.dashboards.site import Site
from aedfleet.dashboards.targets import DATASOURCE, Query

BINZHOU: Final = (37.40, 117.85)  # the middle of the seven districts and counties


def fleet_map(s: Site) -> Sized:
    lat, lon = BINZHOU
    markers = (
        common_builders.MapLayerOptions()
        .type("markers")
        .name("Cabinets by readiness")
        .location(
            common_builders.FrameGeometrySource()
            .mode(common.FrameGeometrySourceMode.COORDS)
            .latitude("lat")
            .longitude("lon")
        )
        .config({
            "showLegend": True,
            "style": {
                "color": {"field": "state", "fixed": "green"},
                "size": {"fixed": 8, "min": 4, "max": 12},
                "opacity": 0.9,
                "symbol": {"mode": "fixed", "fixed": "img/icons/marker/circle.svg"},
            },
        })
    )  # fmt: skip
    return Sized(
        current(geomap.Panel, "Where the AEDs are, coloured by readiness", s)
        .with_target(Query(queries.latest(), table=True))
        .with_transformation(ONE_TABLE)
        # the SDK types lat/lon as int; Grafana stores degrees with decimals
        .view(geomap.MapViewConfig().id("coords").lat(lat).lon(lon).zoom(9))  # type: ignore[arg-type]
        .basemap(common_builders.MapLayerOptions().type("default").name("Basemap"))
        .layers([markers])
        .tooltip(geomap.TooltipOptions().mode(geomap_model.TooltipMode.DETAILS))
        .mappings(readiness_mappings())
        .override_by_name("name", [LINK_TO_CABINET]),
        16, 16,
    )  # fmt: skip


def problems_first() -> list[cogbuilder.Builder[common.TableSortByFieldState]]:
    return [common_builders.TableSortByFieldState().display_name("problem").desc(True)]


def fleet_table(s: Site) -> table.Panel:
    a = s.alerts
    return (
        current(table.Panel, "Readiness per cabinet, problems first", s)
        .with_target(Query(queries.latest(), table=True))
        .with_transformation(ONE_TABLE)
        .with_transformation(transformation(
            "organize",
            excludeByName={"lat": True, "lon": True, "Time": True, "alert_text": True},
            indexByName={"problem": 0, "name": 1, "district": 2, "state": 3, "reason": 4,
                         "last_seen_ms": 5},
        ))
        .mappings(readiness_mappings())
        .sort_by(problems_first())
        .override_by_name("problem", [setting("mappings", [model.ValueMap({
            "1": model.ValueMappingResult(text="problem", color="red"),
            "0": model.ValueMappingResult(text="", color="transparent")})]), COLOURED_CELL])
        .override_by_name("name", [LINK_TO_CABINET])
        .override_by_name("cabinet", [LINK_TO_CABINET])
        .override_by_name("state", [COLOURED_CELL])
        .override_by_name("last_seen_ms", renamed("last seen", SINCE))
        .override_by_name("batt_v", coloured(site.battery_v(a), "volt", "backup battery"))
        .override_by_name("temp_c", coloured(site.temperature_c(a), "celsius", "temperature"))
        .override_by_name("pad_days", coloured(site.days_left(a), display="days to pad expiry"))
        .override_by_name("batt_days", coloured(site.days_left(a),
                                                display="days to AED battery expiry"))
        .override_by_name("level", worst_alert("worst alert"))
        .override_by_name("alerts", renamed("open alerts"))
    )  # fmt: skip


def health(title: str, influxql: str, alias: str) -> Sized:
    return Sized(
        timeseries.Panel().datasource(DATASOURCE).title(title)
        .draw_style(common.GraphDrawStyle.BARS)
        .with_target(Query(influxql, alias=alias)),
        8, 6,
    )  # fmt: skip


def fleet_overview(s: Site) -> board.Dashboard:
    over_time = Sized(
        timeseries.Panel().datasource(DATASOURCE).title("Fleet readiness over time")
        .unit("percent").min(0).max(100)
        .with_target(Query('SELECT mean("available") * 100 FROM "readiness" WHERE $timeFilter '
                           "GROUP BY time($__interval) fill(none)", alias="cabinets available")),
        8, 8,
    )  # fmt: skip
    versions = Sized(
        timeseries.Panel().datasource(DATASOURCE).title("Firmware versions over time")
        .unit("none").min(0)
        .with_target(Query(queries.FIRMWARE_VERSIONS, alias="$tag_fw")),
        24, 8,
    )  # fmt: skip
    return place(new_board("AED fleet overview", "aedfleet-fleet", "now-24h"), [
        [fleet_map(s), [Sized(state_counts(s), 8, 8), over_time]],
        [Sized(fleet_table(s), 24, 12)],
        [versions],
        # the collector's health: is anything arriving at all, and how fast
        [Sized(freshness(s, f"Cabinet snapshots, last {s.window}", queries.SNAPSHOTS_WRITTEN),
               4, 6),
         Sized(freshness(s, f"Telemetry, last {s.window}", queries.TELEMETRY_RECEIVED), 4, 6),
         health("Messages stored per interval",
                'SELECT count("seq") FROM "telemetry" WHERE $timeFilter '
                "GROUP BY time($__interval) fill(0)", "telemetry"),
         health("Dead letters per interval",
                'SELECT count("size") FROM "dead_letter" WHERE $timeFilter '
                'GROUP BY time($__interval), "reason" fill(none)', "$tag_reason")],
    ])  # fmt: skip
