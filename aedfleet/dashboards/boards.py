"""The ops room's dashboards: fleet overview (with the collector's health), incidents, one
cabinet, the technician's worklist and a problems-only wall for a TV.

Current state (the map, the counts, the tables of open alerts, problems and expiries) reads
the collector's `cabinet_state` snapshot over a fixed recent window (`Site.window`, panel
`timeFrom`), never the time picker: when the collector stops they go empty and the freshness
tiles turn red, instead of staying green. History (trends, openings, notifications) follows
the picker. Colours come from the site's alert settings (aedfleet/dashboards/site.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.builders import geomap, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import geomap as geomap_model

from aedfleet.dashboards import queries, site
from aedfleet.dashboards.coverage_board import coverage_board
from aedfleet.dashboards.layout import Sized, place
from aedfleet.dashboards.site import Site
from aedfleet.dashboards.targets import DATASOURCE, Annotation, Query

FOLDER: Final = "AED fleet"
TAGS: Final = ["aedfleet"]
CABINET_UID: Final = "aedfleet-cabinet"
# readiness as the ops room reads it: the colours of the map, the table and the counts
STATES: Final = {
    "available": ("available", "green"),
    "in_use": ("in use (opened)", "red"),
    "not_ready": ("not ready", "orange"),
    "offline": ("offline", "#8e8e8e"),
}
SEVERITY_COLOURS: Final = {"critical": "red", "high": "orange", "warning": "yellow"}
BINZHOU: Final = (37.40, 117.85)  # the middle of the seven districts and counties
# to the cabinet board, for the row's cabinet, keeping the dashboard's time range
TO_CABINET: Final = {
    "title": "Open this cabinet",
    "url": f"/d/{CABINET_UID}/aed-cabinet?var-district=${{__data.fields.district}}"
    "&var-cabinet=${__data.fields.cabinet}&${__url_time_range}",
}


def readiness_mappings() -> list[model.ValueMapping]:
    options = {
        state: model.ValueMappingResult(text=text, color=color, index=index)
        for index, (state, (text, color)) in enumerate(STATES.items())
    }
    return [model.ValueMap(options)]


def severity_mappings() -> list[model.ValueMapping]:
    return [model.ValueMap({level: model.ValueMappingResult(color=colour)
                            for level, colour in SEVERITY_COLOURS.items()})]  # fmt: skip


P = TypeVar("P", geomap.Panel, stat.Panel, statetimeline.Panel, table.Panel, timeseries.Panel)


def panel(kind: Callable[[], P], title: str, width: int, height: int) -> Sized:
    """A panel on the provisioned data source, `width` of the 24 grid columns wide."""
    return Sized(kind().datasource(DATASOURCE).title(title), width, height)


def current(kind: Callable[[], P], title: str, s: Site) -> P:
    """A current-state panel: its own fixed recent window, whatever the picker says."""
    return kind().datasource(DATASOURCE).title(title).time_from(s.window)


def setting(key: str, value: object) -> model.DynamicConfigValue:
    return model.DynamicConfigValue(id_val=key, value=value)


COLOURED_CELL: Final = setting("custom.cellOptions", {"type": "color-background"})
SINCE: Final = setting("unit", "dateTimeFromNow")
LINK_TO_CABINET: Final = setting("links", [TO_CABINET])


def coloured(
    config: board.ThresholdsConfig, unit: str = "", display: str = ""
) -> list[model.DynamicConfigValue]:
    """A cell coloured by the site's thresholds, optionally with a unit and a display name."""
    properties = [setting("thresholds", config.build()), COLOURED_CELL]
    if unit:
        properties.append(setting("unit", unit))
    if display:
        properties.append(setting("displayName", display))
    return properties


def renamed(display: str, *more: model.DynamicConfigValue) -> list[model.DynamicConfigValue]:
    return [setting("displayName", display), *more]


def transformation(kind: str, **options: object) -> model.DataTransformerConfig:
    return model.DataTransformerConfig(id_val=kind, options=options)


# InfluxDB's table format gives one table per query; a Grafana that hands the panel one frame
# per series gets them concatenated (every frame has the same columns: rows, not a join)
ONE_TABLE: Final = transformation("merge")


def problems_first() -> list[cogbuilder.Builder[common.TableSortByFieldState]]:
    return [common_builders.TableSortByFieldState().display_name("problem").desc(True)]


# --- fleet overview ----------------------------------------------------------------------


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


def state_counts(s: Site, title: str = "Cabinets by readiness") -> stat.Panel:
    labels = {state: text for state, (text, _) in STATES.items()}
    counts = (
        current(stat.Panel, title, s)
        .with_target(Query(queries.state_counts(labels), table=True))
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .no_value(f"stale: no snapshot in {s.window}")
        .color_mode(common.BigValueColorMode.BACKGROUND)
    )
    for text, colour in STATES.values():
        counts = counts.override_by_name(text, [
            setting("color", {"mode": "fixed", "fixedColor": colour})])  # fmt: skip
    return counts


def freshness(s: Site, title: str, influxql: str) -> stat.Panel:
    """How much arrived in the fixed recent window: red at 0 and 'stale' when nothing did."""
    return (
        current(stat.Panel, title, s)
        .with_target(Query(influxql, table=True))
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .no_value("STALE")
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .thresholds(board.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps([
            model.Threshold(value=None, color="red"), model.Threshold(value=1, color="green")]))
    )  # fmt: skip


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
        .override_by_name("level", renamed("worst alert", setting("mappings", severity_mappings()),
                                           COLOURED_CELL))
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
    dashboard = (
        board.Dashboard("AED fleet overview")
        .uid("aedfleet-fleet")
        .tags(TAGS)
        .time("now-24h", "now")
        .refresh("30s")
        .timezone("browser")
    )
    return place(dashboard, [
        [fleet_map(s), [Sized(state_counts(s), 8, 8), over_time]],
        [Sized(fleet_table(s), 24, 12)],
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


# --- incidents -----------------------------------------------------------------------------

OPEN_ALERT_COLUMNS: Final = ("name", "level", "alert_text", "alert_since_ms", "acked",
                             "unacked", "silenced")  # fmt: skip


# every acknowledgement and silence, by the name of the operator's token (aedfleet/alerts/shell.py)
OPERATOR_ACTIONS: Final = (
    'SELECT "by", "severity", "reason", "until_ms", "silence" FROM "operator_action" '
    'WHERE $timeFilter GROUP BY "cabinet", "rule", "action"'
)


def open_alerts(s: Site) -> table.Panel:
    return (
        current(table.Panel, "Open alerts", s)
        .with_target(Query(queries.latest_where(OPEN_ALERT_COLUMNS, "alerts", "> 0"), table=True))
        .with_transformation(ONE_TABLE)
        .with_transformation(transformation("organize", excludeByName={"Time": True}))
        .sort_by([common_builders.TableSortByFieldState().display_name("unacked").desc(True)])
        .override_by_name("alert_since_ms", renamed("open since", SINCE))
        .override_by_name("alert_text", renamed("alerts"))
        .override_by_name("level", renamed("worst", setting("mappings", severity_mappings()),
                                           COLOURED_CELL))
        .override_by_name("name", [LINK_TO_CABINET])
    )  # fmt: skip


def incidents(s: Site) -> board.Dashboard:
    openings = "WHERE (\"ev\" = 'door_open' OR \"ev\" = 'aed_removed') AND $timeFilter"
    dashboard = (
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
    )  # fmt: skip
    # one point per opening, at height 1, one series per cabinet and event type
    timeline = (
        timeseries.Panel().datasource(DATASOURCE).title("Doors opened and AEDs removed")
        .draw_style(common.GraphDrawStyle.POINTS).point_size(10).min(0).max(2)
        .with_target(Query(f'SELECT "seq" * 0 + 1 AS "opening" FROM "event" {openings} '
                           'GROUP BY "cabinet", "ev"', alias="$tag_cabinet $tag_ev"))
    )  # fmt: skip
    openings_table = (
        table.Panel().datasource(DATASOURCE).title("Openings in the range")
        .with_target(Query(f'SELECT "seq", "delay_ms" FROM "event" {openings} '
                           'GROUP BY "cabinet", "district", "site", "ev"', table=True))
    )  # fmt: skip
    sent = (
        timeseries.Panel().datasource(DATASOURCE).title("Notifications sent and failed")
        .draw_style(common.GraphDrawStyle.BARS)
        .with_target(Query('SELECT count("attempts") FROM "notification" WHERE $timeFilter '
                           'GROUP BY time($__interval), "outcome" fill(none)',
                           alias="$tag_outcome"))
    )  # fmt: skip
    operator_actions = (
        table.Panel().datasource(DATASOURCE)
        .title("Silences and acknowledgements (who held back which alerts)")
        .with_target(Query(OPERATOR_ACTIONS, table=True))
        .override_by_name("until_ms", renamed("silenced until", SINCE))
    )  # fmt: skip
    undelivered = (
        table.Panel().datasource(DATASOURCE).title("Notifications not delivered")
        .with_target(Query(
            'SELECT "recipient", "error", "attempts" FROM "notification" WHERE '
            "\"outcome\" != 'sent' AND $timeFilter GROUP BY \"cabinet\", \"rule\", "
            '"channel", "outcome"', table=True))
    )  # fmt: skip
    rows: list[list[Sized | list[Sized]]] = [
        [Sized(timeline, 24, 8)],
        [Sized(open_alerts(s), 12, 10), Sized(openings_table, 12, 10)],
        [Sized(sent, 12, 8), Sized(undelivered, 12, 8)],
        [Sized(operator_actions, 24, 8)],
    ]
    return place(dashboard, rows)


# --- one cabinet ---------------------------------------------------------------------------

THIS_CABINET: Final = '"cabinet" =~ /^$cabinet$/ AND $timeFilter'


def _trend(title: str, influxql: str, unit: str, config: board.ThresholdsConfig) -> Sized:
    return Sized(
        timeseries.Panel().datasource(DATASOURCE).title(title).unit(unit).thresholds(config)
        .thresholds_style(common_builders.GraphThresholdsStyleConfig()
                          .mode(common.GraphTresholdsStyleMode.LINE_AND_AREA))
        .with_target(Query(influxql, alias=title)),
        12, 8,
    )  # fmt: skip


PICKER: Final = ('SELECT "label" FROM "cabinet_state" WHERE "district" =~ /^$district$/ AND '
                  '$timeFilter GROUP BY "cabinet" ORDER BY time DESC LIMIT 1')  # fmt: skip
PICKER_REGEX: Final = "/^(?<value>[^ ]+) (?<text>.+)$/"


def cabinet_variables() -> list[board.QueryVariable]:
    district = (
        board.QueryVariable("district").label("District").datasource(DATASOURCE)
        .query('SHOW TAG VALUES FROM "cabinet_state" WITH KEY = "district"')
        .refresh(model.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
        .include_all(True).all_value(".*")
    )  # fmt: skip
    # each cabinet's snapshot `label` ("<id> <name>"): the picker shows the name and the
    # variable's value is the id (Grafana's variable regex, named groups text and value)
    cabinet = (
        board.QueryVariable("cabinet").label("Cabinet").datasource(DATASOURCE)
        .query(PICKER)
        .regex(PICKER_REGEX)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
    )  # fmt: skip
    return [district, cabinet]


def cabinet_detail(s: Site) -> board.Dashboard:
    a = s.alerts

    def reading(field: str) -> str:
        return (f'SELECT mean("{field}") FROM "telemetry" WHERE {THIS_CABINET} '
                "GROUP BY time($__interval) fill(none)")  # fmt: skip

    def device(field: str) -> str:
        return (f'SELECT last("{field}") FROM "device" WHERE {THIS_CABINET} '
                "GROUP BY time($__interval) fill(previous)")  # fmt: skip

    snapshot = queries.latest(
        ("state", "reason", "name", "address", "last_seen_ms", "alert_text"),
        where='"cabinet" =~ /^$cabinet$/',
    )
    readiness = (
        current(stat.Panel, "Readiness", s).mappings(readiness_mappings())
        .with_target(Query(snapshot, table=True))
        # the state is a string: a stat panel shows only numeric fields unless told
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"])
                        .fields("/^state$/").values(False))
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .no_value(f"stale: no snapshot in {s.window}")
    )  # fmt: skip
    where = (
        current(stat.Panel, "Cabinet", s)
        .with_target(Query(snapshot, table=True))
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"])
                        .fields("/^(name|address|reason)$/").values(False))
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
        .color_mode(common.BigValueColorMode.NONE)
    )  # fmt: skip
    last_seen = (
        current(stat.Panel, "Last seen", s)
        .with_target(Query(snapshot, table=True))
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"])
                        .fields("/^last_seen_ms$/").values(False))
        .unit("dateTimeFromNow").no_value(f"stale: no snapshot in {s.window}")
    )  # fmt: skip
    switches = (
        statetimeline.Panel().datasource(DATASOURCE).title("Door, AED, mains and maintenance")
        .with_target(Query(
            'SELECT last("door_open") AS "door open", last("aed_present") AS "AED in cabinet", '
            'last("mains") AS "mains power", last("maintenance") AS "maintenance" FROM "device" '
            f"WHERE {THIS_CABINET} GROUP BY time($__interval) fill(previous)"))
        .mappings([model.ValueMap({
            "true": model.ValueMappingResult(text="yes", color="blue"),
            "false": model.ValueMappingResult(text="no", color="transparent")})])
        .merge_values(True)
    )  # fmt: skip
    alerts = (
        table.Panel().datasource(DATASOURCE).title("Alert transitions")
        .with_target(Query('SELECT "summary", "rule", "kind", "level", "silenced" FROM "alert" '
                           f"WHERE {THIS_CABINET}", table=True))
    )  # fmt: skip
    dashboard = (
        board.Dashboard("AED cabinet")
        .uid(CABINET_UID)
        .tags(TAGS)
        .time("now-24h", "now")
        .refresh("30s")
        .timezone("browser")
    )
    for variable in cabinet_variables():
        dashboard = dashboard.with_variable(variable)
    return place(dashboard, [
        [Sized(readiness, 6, 6), Sized(last_seen, 6, 6), Sized(where, 12, 6)],
        [Sized(switches, 24, 6)],
        [_trend("Backup battery", reading("batt_v"), "volt", site.battery_v(a)),
         _trend("Temperature", reading("temp_c"), "celsius", site.temperature_c(a))],
        [_trend("Wi-Fi signal", reading("rssi_dbm"), "dBm", site.rssi_dbm(a)),
         Sized(alerts, 12, 8)],
        [Sized(timeseries.Panel().datasource(DATASOURCE).title("Heater")
               .with_target(Query(device("heater"), alias="heater on")), 8, 8),
         Sized(timeseries.Panel().datasource(DATASOURCE).title("Reconnects since boot")
               .with_target(Query(device("reconnects"), alias="reconnects")), 8, 8),
         Sized(table.Panel().datasource(DATASOURCE).title("Events")
               .with_target(Query('SELECT "seq", "open_s", "out_s", "dur_s", "code" FROM '
                                  f'"event" WHERE {THIS_CABINET} GROUP BY "ev"', table=True)),
               8, 8)],
    ])  # fmt: skip


# --- the technician's worklist -------------------------------------------------------------

WORKLIST_COLUMNS: Final = ("name", "address", "state")


def worklist(s: Site, title: str, date_field: str, days_field: str) -> table.Panel:
    columns = (*WORKLIST_COLUMNS, date_field, days_field)
    return (
        current(table.Panel, title, s)
        .with_target(Query(queries.latest_where(columns, days_field, f"<= {s.worklist_days}",
                                                '"cabinet", "district", "site"'), table=True))
        .with_transformation(ONE_TABLE)
        .with_transformation(transformation("organize", excludeByName={"Time": True}))
        .mappings(readiness_mappings())
        .sort_by([common_builders.TableSortByFieldState().display_name(days_field)])
        .override_by_name(days_field, coloured(site.days_left(s.alerts)))
        .override_by_name("name", [LINK_TO_CABINET])
    )  # fmt: skip


def maintenance(s: Site) -> board.Dashboard:
    dashboard = (
        board.Dashboard("AED maintenance worklist")
        .uid("aedfleet-maintenance")
        .tags(TAGS)
        .time("now-24h", "now")
        .refresh("5m")
        .timezone("browser")
    )
    days = s.worklist_days
    return place(dashboard, [[
        Sized(worklist(s, f"Pads expiring in the next {days} days", "pad_exp", "pad_days"), 12, 14),
        Sized(worklist(s, f"AED batteries expiring in the next {days} days", "batt_exp",
                       "batt_days"), 12, 14),
    ]])  # fmt: skip


# --- the wall: problems only, for a TV -----------------------------------------------------

PROBLEM_COLUMNS: Final = ("name", "state", "reason", "level", "alert_text", "last_seen_ms")


def wall(s: Site) -> board.Dashboard:
    problems = (
        current(table.Panel, "Cabinets that need someone", s)
        .with_target(Query(queries.latest_where(PROBLEM_COLUMNS, "problem", "= 1"), table=True))
        .with_transformation(ONE_TABLE)
        .with_transformation(transformation("organize", excludeByName={"Time": True}))
        .mappings(readiness_mappings())
        .sort_by([common_builders.TableSortByFieldState().display_name("state")])
        .override_by_name("state", [COLOURED_CELL])
        .override_by_name("level", renamed("worst alert", setting("mappings", severity_mappings()),
                                           COLOURED_CELL))
        .override_by_name("last_seen_ms", renamed("last seen", SINCE))
        .override_by_name("alert_text", renamed("alerts"))
        .override_by_name("name", [LINK_TO_CABINET])
    )  # fmt: skip
    dashboard = (
        board.Dashboard("AED wall: problems only")
        .uid("aedfleet-wall")
        .tags(TAGS)
        .time("now-1h", "now")
        .refresh("30s")
        .timezone("browser")
    )
    return place(dashboard, [
        [Sized(state_counts(s, "Fleet now"), 16, 5),
         Sized(freshness(s, "Collector writing", queries.SNAPSHOTS_WRITTEN), 8, 5)],
        [Sized(problems, 24, 18)],
    ])  # fmt: skip


DASHBOARDS: Final[dict[str, Callable[[Site], board.Dashboard]]] = {
    "fleet-overview": fleet_overview,
    "incidents": incidents,
    "cabinet": cabinet_detail,
    "maintenance": maintenance,
    "wall": wall,
    "coverage": coverage_board,
}
