"""The technician's worklist: pads and AED batteries expiring within the site's warning days."""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.builders import table

from aedfleet.dashboards import queries, site
from aedfleet.dashboards.layout import Sized, place
from aedfleet.dashboards.panels import (
    LINK_TO_CABINET,
    ONE_TABLE,
    coloured,
    current,
    new_board,
    readiness_mappings,
    transformation,
)
from aedfleet.dashboards.site import Site
from aedfleet.dashboards.targets import Query

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
    dashboard = new_board("AED maintenance worklist", "aedfleet-maintenance", "now-24h", "5m")
    days = s.worklist_days
    return place(dashboard, [[
        Sized(worklist(s, f"Pads expiring in the next {days} days", "pad_exp", "pad_days"), 12, 14),
        Sized(worklist(s, f"AED batteries expiring in the next {days} days", "batt_exp",
                       "batt_days"), 12, 14),
    ]])  # fmt: skip
