"""One cabinet, picked by district and name: its readiness now, door, AED, mains and
maintenance over time, battery, temperature and Wi-Fi trends against the alert thresholds,
its alert transitions and events."""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.builders import stat, statetimeline, table, timeseries
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from aedfleet.dashboards import queries, site
from aedfleet.dashboards.layout import Sized, place
from aedfleet.dashboards.panels import CABINET_UID, current, new_board, readiness_mappings
from aedfleet.dashboards.site import Site
from aedfleet.dashboards.targets import DATASOURCE, Query

THIS_CABINET: Final = '"cabinet" =~ /^$cabinet$/ AND $timeFilter'


def _trend(title: str, influxql: str, unit: str, config: board.ThresholdsConfig,
           *older: str) -> Sized:  # fmt: skip
    """`older`: queries for the time before the raw data's retention (the aggregates)."""
    panel = (
        timeseries.Panel().datasource(DATASOURCE).title(title).unit(unit).thresholds(config)
        .thresholds_style(common_builders.GraphThresholdsStyleConfig()
                          .mode(common.GraphTresholdsStyleMode.LINE_AND_AREA))
        .with_target(Query(influxql, alias=title))
    )  # fmt: skip
    for ref_id, query in zip("BCDE", older, strict=False):
        panel = panel.with_target(Query(query, ref_id=ref_id, alias=title))
    return Sized(panel, 12, 8)


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

    def aggregated(field: str) -> tuple[str, ...]:
        """The same reading beyond the raw retention, from the hourly means kept forever."""
        if s.aggregate is None:
            return ()
        return (f'SELECT mean("{field}") FROM "forever"."telemetry_{s.aggregate}" WHERE '
                f"{THIS_CABINET} AND time < now() - {s.raw_retention} "
                "GROUP BY time($__interval) fill(none)",)  # fmt: skip

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
    dashboard = new_board("AED cabinet", CABINET_UID, "now-24h")
    for variable in cabinet_variables():
        dashboard = dashboard.with_variable(variable)
    return place(dashboard, [
        [Sized(readiness, 6, 6), Sized(last_seen, 6, 6), Sized(where, 12, 6)],
        [Sized(switches, 24, 6)],
        [_trend("Backup battery", reading("batt_v"), "volt", site.battery_v(a),
                *aggregated("batt_v")),
         _trend("Temperature", reading("temp_c"), "celsius", site.temperature_c(a),
                *aggregated("temp_c"))],
        [_trend("Wi-Fi signal", reading("rssi_dbm"), "dBm", site.rssi_dbm(a),
                *aggregated("rssi_dbm")),
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
