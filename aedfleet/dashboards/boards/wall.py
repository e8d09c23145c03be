"""The wall: problems only, for a TV in the ops room."""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.builders import table

from aedfleet.dashboards import queries
from aedfleet.dashboards.layout import Sized, place
from aedfleet.dashboards.panels import (
    COLOURED_CELL,
    LINK_TO_CABINET,
    ONE_TABLE,
    SINCE,
    current,
    freshness,
    new_board,
    readiness_mappings,
    renamed,
    state_counts,
    transformation,
    worst_alert,
)
from aedfleet.dashboards.site import Site
from aedfleet.dashboards.targets import Query

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
        .override_by_name("level", worst_alert("worst alert"))
        .override_by_name("last_seen_ms", renamed("last seen", SINCE))
        .override_by_name("alert_text", renamed("alerts"))
        .override_by_name("name", [LINK_TO_CABINET])
    )  # fmt: skip
    return place(new_board("AED wall: problems only", "aedfleet-wall", "now-1h"), [
        [Sized(state_counts(s, "Fleet now"), 16, 5),
         Sized(freshness(s, "Collector writing", queries.SNAPSHOTS_WRITTEN), 8, 5)],
        [Sized(problems, 24, 18)],
    ])  # fmt: skip
