"""What the boards share: the readiness and severity colours, the link to the cabinet board,
the current-state panel (its own fixed recent window, never the picker), the readiness counts
and the freshness tiles, and the small helpers for overrides and transformations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.builders import geomap, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from aedfleet.dashboards import queries
from aedfleet.dashboards.site import Site
from aedfleet.dashboards.targets import DATASOURCE, Query

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
# to the cabinet board, for the row's cabinet, keeping the dashboard's time range
TO_CABINET: Final = {
    "title": "Open this cabinet",
    "url": f"/d/{CABINET_UID}/aed-cabinet?var-district=${{__data.fields.district}}"
    "&var-cabinet=${__data.fields.cabinet}&${__url_time_range}",
}


def new_board(title: str, uid: str, since: str, refresh: str = "30s") -> board.Dashboard:
    """A board of the ops room: tagged, in the browser's time zone, `since` ago until now."""
    return (
        board.Dashboard(title)
        .uid(uid)
        .tags(TAGS)
        .time(since, "now")
        .refresh(refresh)
        .timezone("browser")
    )


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


def worst_alert(display: str) -> list[model.DynamicConfigValue]:
    """The worst open alert's level, as a cell in its severity's colour."""
    return renamed(display, setting("mappings", severity_mappings()), COLOURED_CELL)


def transformation(kind: str, **options: object) -> model.DataTransformerConfig:
    return model.DataTransformerConfig(id_val=kind, options=options)


# InfluxDB's table format gives one table per query; a Grafana that hands the panel one frame
# per series gets them concatenated (every frame has the same columns: rows, not a join)
ONE_TABLE: Final = transformation("merge")


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
