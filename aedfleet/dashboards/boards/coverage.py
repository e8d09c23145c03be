"""The coverage dashboard (docs/coverage.md): which key places a ready, accessible AED covers
now (a map and the list of those that are not), and coverage per district over time. Current
state reads the collector's `coverage` points over the fixed recent window, like the fleet's
boards; history follows the picker."""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.builders import geomap, stat, table, timeseries
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import geomap as geomap_model

from aedfleet.dashboards.layout import Sized, place
from aedfleet.dashboards.panels import ONE_TABLE, current, new_board, transformation
from aedfleet.dashboards.site import Site
from aedfleet.dashboards.targets import DATASOURCE, Query

UID: Final = "aedfleet-coverage"
BINZHOU: Final = (37.40, 117.85)
PLACES: Final = '"coverage" WHERE "scope" = \'place\''
# each place's newest point (raw, one per series: stamped with its own time)
LATEST_PLACES: Final = (
    'SELECT "covered_n", "name", "kind", "cabinet", "distance_m", "weight", "lat", "lon" FROM '
    f'{PLACES} AND $timeFilter GROUP BY "place", "district" ORDER BY time DESC LIMIT 1'
)
# the places whose newest point says uncovered (filtered after last(), never before: an older
# uncovered point of a place covered since must not count)
UNCOVERED: Final = (
    'SELECT "name", "kind", "weight", "cabinet", "distance_m" FROM (SELECT last("covered_n") AS '
    '"covered_n", last("name") AS "name", last("kind") AS "kind", last("weight") AS "weight", '
    'last("cabinet") AS "cabinet", last("distance_m") AS "distance_m" FROM '
    f'{PLACES} AND $timeFilter GROUP BY "place", "district") WHERE "covered_n" = 0 '
    'GROUP BY "place", "district"'
)
FLEET_NOW: Final = (
    'SELECT last("pct") AS "places covered", last("weighted_pct") AS "weighted by footfall" '
    'FROM "coverage" WHERE "scope" = \'fleet\' AND $timeFilter'
)
PER_DISTRICT: Final = (
    'SELECT mean("pct") FROM "coverage" WHERE "scope" = \'district\' AND $timeFilter '
    'GROUP BY time($__interval), "district" fill(none)'
)
FLEET_OVER_TIME: Final = (
    'SELECT mean("weighted_pct") FROM "coverage" WHERE "scope" = \'fleet\' AND $timeFilter '
    "GROUP BY time($__interval) fill(none)"
)


def _covered_colours() -> list[model.ValueMapping]:
    return [model.ValueMap({
        "1": model.ValueMappingResult(text="covered", color="green", index=0),
        "0": model.ValueMappingResult(text="NOT covered", color="red", index=1),
    })]  # fmt: skip


def _percent() -> board.ThresholdsConfig:
    return board.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps([
        model.Threshold(value=None, color="red"), model.Threshold(value=80, color="orange"),
        model.Threshold(value=95, color="green")])  # fmt: skip


def places_map(s: Site) -> Sized:
    lat, lon = BINZHOU
    markers = (
        common_builders.MapLayerOptions().type("markers").name("Key places")
        .location(common_builders.FrameGeometrySource()
                  .mode(common.FrameGeometrySourceMode.COORDS).latitude("lat").longitude("lon"))
        .config({"showLegend": True, "style": {
            "color": {"field": "covered_n", "fixed": "green"},
            "size": {"fixed": 7}, "opacity": 0.9,
            "symbol": {"mode": "fixed", "fixed": "img/icons/marker/circle.svg"}}})
    )  # fmt: skip
    return Sized(
        current(geomap.Panel, "Key places, covered or not", s)
        .with_target(Query(LATEST_PLACES, table=True))
        .with_transformation(ONE_TABLE)
        # the SDK types lat/lon as int; Grafana stores degrees with decimals
        .view(geomap.MapViewConfig().id("coords").lat(lat).lon(lon).zoom(9))  # type: ignore[arg-type]
        .basemap(common_builders.MapLayerOptions().type("default").name("Basemap"))
        .layers([markers])
        .tooltip(geomap.TooltipOptions().mode(geomap_model.TooltipMode.DETAILS))
        .mappings(_covered_colours()),
        14, 14,
    )  # fmt: skip


def fleet_now(s: Site) -> Sized:
    return Sized(
        current(stat.Panel, "Key places covered now (fleet)", s)
        .with_target(Query(FLEET_NOW, table=True))
        .unit("percent").decimals(1)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .no_value(f"stale: no coverage point in {s.window}")
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .thresholds(_percent()),
        10, 5,
    )  # fmt: skip


def per_district() -> Sized:
    return Sized(
        timeseries.Panel().datasource(DATASOURCE).title("Key places covered per district (%)")
        .unit("percent").min(0).max(100)
        .with_target(Query(PER_DISTRICT, alias="$tag_district"))
        .with_target(Query(FLEET_OVER_TIME, ref_id="B", alias="fleet, weighted by footfall")),
        10, 9,
    )  # fmt: skip


def uncovered(s: Site) -> Sized:
    return Sized(
        current(table.Panel, "Key places with no ready AED in reach", s)
        .with_target(Query(UNCOVERED, table=True))
        .with_transformation(ONE_TABLE)
        .with_transformation(transformation(
            "organize", excludeByName={"Time": True},
            renameByName={"cabinet": "nearest ready AED", "distance_m": "metres to it",
                          "weight": "daily footfall"}))
        .sort_by([common_builders.TableSortByFieldState().display_name("daily footfall")
                  .desc(True)]),
        24, 10,
    )  # fmt: skip


def coverage_board(s: Site) -> board.Dashboard:
    dashboard = new_board("AED coverage of key places", UID, "now-24h")
    return place(dashboard, [[places_map(s), [fleet_now(s), per_district()]], [uncovered(s)]])
