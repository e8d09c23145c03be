"""The four dashboards of the ops room: fleet overview, incidents, cabinet detail and the
technician's maintenance worklist. Every query is InfluxQL against the measurements in
docs/storage.md and docs/alerts.md, with Grafana's `$timeFilter`, `$__interval` and `$cabinet`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.builders import geomap, stat, table, timeseries
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import geomap as geomap_model

from dashboards.influxql import DATASOURCE, Annotation, Query

FOLDER: Final = "AED fleet"
TAGS: Final = ["aedfleet"]
# readiness as the ops room reads it: the colours of the map, the table and the counts
STATES: Final = {
    "available": ("available", "green"),
    "in_use": ("in use (opened)", "red"),
    "not_ready": ("not ready", "orange"),
    "offline": ("offline", "#8e8e8e"),
}
BINZHOU: Final = (37.40, 117.85)  # the middle of the seven districts and counties


def readiness_mappings() -> list[model.ValueMapping]:
    options = {
        state: model.ValueMappingResult(text=text, color=color, index=index)
        for index, (state, (text, color)) in enumerate(STATES.items())
    }
    return [model.ValueMap(options)]


P = TypeVar("P", geomap.Panel, stat.Panel, table.Panel, timeseries.Panel)


def panel(kind: Callable[[], P], title: str, width: int, height: int) -> P:
    """A panel on the provisioned data source, `width` of the 24 grid columns wide."""
    return kind().datasource(DATASOURCE).title(title).span(width).height(height)


def thresholds(*steps: tuple[float | None, str]) -> board.ThresholdsConfig:
    return (
        board.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=value, color=color) for value, color in steps])
    )


def colour_by(
    name: str, config: board.ThresholdsConfig, unit: str = ""
) -> tuple[str, list[model.DynamicConfigValue]]:
    properties = [
        model.DynamicConfigValue(id_val="thresholds", value=config.build()),
        COLOURED_CELL,
    ]
    if unit:
        properties.append(model.DynamicConfigValue(id_val="unit", value=unit))
    return name, properties


COLOURED_CELL: Final = model.DynamicConfigValue(id_val="custom.cellOptions",
                                              value={"type": "color-background"})  # fmt: skip
SINCE: Final = model.DynamicConfigValue(id_val="unit", value="dateTimeFromNow")
BATTERY_V: Final = thresholds((None, "red"), (11.8, "yellow"), (12.2, "green"))
TEMPERATURE_C: Final = thresholds((None, "blue"), (0, "green"), (45, "orange"), (50, "red"))
DAYS_LEFT: Final = thresholds((None, "red"), (0, "orange"), (30, "yellow"), (90, "green"))


def transformation(kind: str, **options: object) -> model.DataTransformerConfig:
    return model.DataTransformerConfig(id_val=kind, options=options)


# --- fleet overview ----------------------------------------------------------------------

LATEST_READINESS: Final = (
    'SELECT last("state") AS "state", last("name") AS "name", last("lat") AS "lat", '
    'last("lon") AS "lon", last("reason") AS "reason" FROM "readiness" WHERE $timeFilter '
    'GROUP BY "cabinet", "district"'
)


def state_count(state: str) -> str:
    return (
        'SELECT count("state") AS "cabinets" FROM (SELECT last("state") AS "state" FROM '
        f'"readiness" WHERE $timeFilter GROUP BY "cabinet") WHERE "state" = \'{state}\''
    )


def fleet_overview() -> board.Dashboard:
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
    counts = (
        stat.Panel()
        .datasource(DATASOURCE)
        .title("Cabinets by readiness")
        .span(8)
        .height(8)
        .no_value("0")
    )
    for index, (state, (text, colour)) in enumerate(STATES.items()):
        counts = counts.with_target(Query(state_count(state), ref_id="ABCD"[index], table=True,
                                          alias=text))  # fmt: skip
        counts = counts.override_by_query("ABCD"[index], [
            model.DynamicConfigValue(id_val="displayName", value=text),
            model.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": colour}),
        ])  # fmt: skip
    readiness_table = (
        panel(table.Panel, "Readiness per cabinet", 24, 12)
        .with_target(Query(LATEST_READINESS, ref_id="A", table=True))
        .with_target(Query(
            'SELECT last("batt_v") AS "backup battery", last("temp_c") AS "temperature" '
            'FROM "telemetry" WHERE $timeFilter GROUP BY "cabinet"', ref_id="B", table=True))
        .with_target(Query(
            'SELECT last("seq") AS "last seq" FROM "telemetry" WHERE $timeFilter '
            'GROUP BY "cabinet"', ref_id="C", table=True))
        .with_target(Query(
            'SELECT last("pad_days") AS "days to pad expiry", last("batt_days") AS '
            '"days to AED battery expiry" FROM "device" WHERE $timeFilter GROUP BY "cabinet"',
            ref_id="D", table=True))
        .with_transformation(transformation("merge"))
        .with_transformation(transformation(
            "organize",
            excludeByName={"lat": True, "lon": True, "last seq": True},
            renameByName={"Time": "last seen", "cabinet": "cabinet id"},
            indexByName={"name": 0, "district": 1, "state": 2, "reason": 3, "Time": 4},
        ))
        .mappings(readiness_mappings())
        .sort_by([common_builders.TableSortByFieldState().display_name("state")])
        .override_by_name(*colour_by("backup battery", BATTERY_V, "volt"))
        .override_by_name(*colour_by("temperature", TEMPERATURE_C, "celsius"))
        .override_by_name(*colour_by("days to pad expiry", DAYS_LEFT))
        .override_by_name(*colour_by("days to AED battery expiry", DAYS_LEFT))
        .override_by_name("state", [COLOURED_CELL])
        .override_by_name("last seen", [SINCE])
    )  # fmt: skip
    return (
        board.Dashboard("AED fleet overview")
        .uid("aedfleet-fleet")
        .tags(TAGS)
        .time("now-24h", "now")
        .refresh("30s")
        .timezone("browser")
        .with_panel(
            geomap.Panel()
            .datasource(DATASOURCE)
            .title("Where the AEDs are, coloured by readiness")
            .span(16)
            .height(16)
            .with_target(Query(LATEST_READINESS, table=True))
            # the SDK types lat/lon as int; Grafana stores degrees with decimals
            .view(geomap.MapViewConfig().id("coords").lat(lat).lon(lon).zoom(9))  # type: ignore[arg-type]
            .basemap(common_builders.MapLayerOptions().type("default").name("Basemap"))
            .layers([markers])
            .tooltip(geomap.TooltipOptions().mode(geomap_model.TooltipMode.DETAILS))
            .mappings(readiness_mappings())
        )
        .with_panel(counts)
        .with_panel(
            timeseries.Panel()
            .datasource(DATASOURCE)
            .title("Fleet readiness over time")
            .span(8)
            .height(8)
            .unit("percent")
            .min(0)
            .max(100)
            .with_target(
                Query(
                    'SELECT mean("available") * 100 FROM "readiness" WHERE $timeFilter '
                    "GROUP BY time($__interval) fill(none)",
                    alias="cabinets available",
                )
            )
        )
        .with_panel(readiness_table)
    )


# --- incidents -----------------------------------------------------------------------------

OPEN_ALERTS: Final = (
    'SELECT "summary", "level", "since_ms" FROM (SELECT last("summary") AS "summary", '
    'last("level") AS "level", last("since_ms") AS "since_ms", last("open") AS "open" '
    'FROM "alert" WHERE $timeFilter AND "kind" != \'info\' GROUP BY "cabinet", "rule") '
    'WHERE "open" = 1 GROUP BY "cabinet", "rule"'
)


# every acknowledgement and silence, by the name of the operator's token (collector/alerting.py)
OPERATOR_ACTIONS: Final = (
    'SELECT "by", "severity", "reason", "until_ms", "silence" FROM "operator_action" '
    'WHERE $timeFilter GROUP BY "cabinet", "rule", "action"'
)


def incidents() -> board.Dashboard:
    openings = "WHERE (\"ev\" = 'door_open' OR \"ev\" = 'aed_removed') AND $timeFilter"
    return (
        board.Dashboard("AED incidents")
        .uid("aedfleet-incidents")
        .tags(TAGS)
        .time("now-7d", "now")
        .refresh("30s")
        .timezone("browser")
        .annotation(Annotation(
            "Alert transitions",
            'SELECT "summary", "cabinet", "rule", "kind" FROM "alert" WHERE $timeFilter '
            "AND \"kind\" != 'repeat'",
            text="summary", tags="cabinet,rule,kind", color="red"))
        .with_panel(
            panel(timeseries.Panel, "Doors opened and AEDs removed", 24, 8)
            .draw_style(common.GraphDrawStyle.POINTS)
            .point_size(10)
            .with_target(Query(f'SELECT "seq" FROM "event" {openings} GROUP BY "cabinet", "ev"',
                               alias="$tag_cabinet $tag_ev"))
        )
        .with_panel(
            panel(table.Panel, "Open alerts", 12, 10)
            .with_target(Query(OPEN_ALERTS, table=True))
            .override_by_name("since_ms", [
                SINCE, model.DynamicConfigValue(id_val="displayName", value="open since")])
            .override_by_name("level", [model.DynamicConfigValue(id_val="mappings", value=[
                model.ValueMap({"critical": model.ValueMappingResult(color="red"),
                                "high": model.ValueMappingResult(color="orange"),
                                "warning": model.ValueMappingResult(color="yellow")})]),
                COLOURED_CELL])
        )
        .with_panel(
            panel(table.Panel, "Openings in the range", 12, 10)
            .with_target(Query(f'SELECT "seq", "delay_ms" FROM "event" {openings} '
                               'GROUP BY "cabinet", "district", "site", "ev"', table=True))
        )
        .with_panel(
            panel(timeseries.Panel, "Notifications sent and failed", 12, 8)
            .draw_style(common.GraphDrawStyle.BARS)
            .with_target(Query(
                'SELECT count("attempts") FROM "notification" WHERE $timeFilter '
                'GROUP BY time($__interval), "outcome" fill(none)', alias="$tag_outcome"))
        )
        .with_panel(
            panel(table.Panel, "Notifications not delivered", 12, 8)
            .with_target(Query(
                'SELECT "recipient", "error", "attempts" FROM "notification" WHERE '
                "\"outcome\" != 'sent' AND $timeFilter GROUP BY \"cabinet\", \"rule\", "
                '"channel", "outcome"', table=True))
        )
        .with_panel(
            panel(table.Panel, "Silences and acknowledgements (who held back which alerts)", 24, 8)
            .with_target(Query(OPERATOR_ACTIONS, table=True))
            .override_by_name("until_ms", [
                SINCE, model.DynamicConfigValue(id_val="displayName", value="silenced until")])
        )
    )  # fmt: skip


# --- one cabinet ---------------------------------------------------------------------------

THIS_CABINET: Final = '"cabinet" =~ /^$cabinet$/ AND $timeFilter'


def _trend(
    title: str, influxql: str, unit: str, config: board.ThresholdsConfig
) -> timeseries.Panel:
    return (
        panel(timeseries.Panel, title, 12, 8).unit(unit).thresholds(config)
        .with_target(Query(influxql, alias=title))
    )  # fmt: skip


def cabinet_detail() -> board.Dashboard:
    def reading(field: str) -> str:
        return (f'SELECT mean("{field}") FROM "telemetry" WHERE {THIS_CABINET} '
                "GROUP BY time($__interval) fill(none)")  # fmt: skip

    def device(field: str) -> str:
        return (f'SELECT last("{field}") FROM "device" WHERE {THIS_CABINET} '
                "GROUP BY time($__interval) fill(previous)")  # fmt: skip

    cabinet = (
        board.QueryVariable("cabinet")
        .label("Cabinet")
        .datasource(DATASOURCE)
        .query('SHOW TAG VALUES FROM "readiness" WITH KEY = "cabinet"')
        .refresh(model.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
    )
    return (
        board.Dashboard("AED cabinet")
        .uid("aedfleet-cabinet")
        .tags(TAGS)
        .time("now-24h", "now")
        .refresh("30s")
        .timezone("browser")
        .with_variable(cabinet)
        .with_panel(
            panel(stat.Panel, "Readiness", 6, 6).mappings(readiness_mappings())
            .with_target(Query(f'SELECT last("state") FROM "readiness" WHERE {THIS_CABINET}',
                               table=True))
        )
        .with_panel(
            panel(table.Panel, "Alerts", 18, 6)
            .with_target(Query(f'SELECT "summary", "rule", "kind", "level" FROM "alert" '
                               f"WHERE {THIS_CABINET}", table=True))
        )
        .with_panel(_trend("Backup battery", reading("batt_v"), "volt", BATTERY_V))
        .with_panel(_trend("Temperature", reading("temp_c"), "celsius", TEMPERATURE_C))
        .with_panel(_trend("Wi-Fi signal", reading("rssi_dbm"), "dBm",
                           thresholds((None, "red"), (-85, "yellow"), (-80, "green"))))
        .with_panel(
            panel(timeseries.Panel, "Heater", 12, 8)
            .with_target(Query(device("heater"), alias="heater on"))
        )
        .with_panel(
            panel(timeseries.Panel, "Reconnects since boot", 12, 8)
            .with_target(Query(device("reconnects"), alias="reconnects"))
        )
        .with_panel(
            panel(table.Panel, "Events", 12, 8)
            .with_target(Query(f'SELECT "seq", "open_s", "out_s", "dur_s", "code" FROM "event" '
                               f'WHERE {THIS_CABINET} GROUP BY "ev"', table=True))
        )
    )  # fmt: skip


# --- the technician's worklist -------------------------------------------------------------


def expiring(date_field: str, days_field: str, within_days: int = 90) -> str:
    return (
        f'SELECT "{date_field}", "{days_field}" FROM (SELECT last("{date_field}") AS '
        f'"{date_field}", last("{days_field}") AS "{days_field}" FROM "device" WHERE '
        f'$timeFilter GROUP BY "cabinet", "district", "site") WHERE "{days_field}" <= '
        f'{within_days} GROUP BY "cabinet", "district", "site"'
    )


def maintenance() -> board.Dashboard:
    def worklist(title: str, date_field: str, days_field: str) -> table.Panel:
        return (
            panel(table.Panel, title, 12, 14)
            .with_target(Query(expiring(date_field, days_field), table=True))
            .with_transformation(transformation("merge"))
            .with_transformation(transformation("organize", excludeByName={"Time": True}))
            .sort_by([common_builders.TableSortByFieldState().display_name(date_field)])
            .override_by_name(*colour_by(days_field, DAYS_LEFT))
        )  # fmt: skip

    return (
        board.Dashboard("AED maintenance worklist")
        .uid("aedfleet-maintenance")
        .tags(TAGS)
        .time("now-25h", "now")  # expiry dates are written at least hourly
        .timezone("browser")
        .with_panel(worklist("Pads expiring in the next 90 days", "pad_exp", "pad_days"))
        .with_panel(worklist("AED batteries expiring in the next 90 days", "batt_exp", "batt_days"))
    )


DASHBOARDS: Final[dict[str, Callable[[], board.Dashboard]]] = {
    "fleet-overview": fleet_overview,
    "incidents": incidents,
    "cabinet": cabinet_detail,
    "maintenance": maintenance,
}
