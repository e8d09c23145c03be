"""Incidents: door openings and AED removals, open alerts, notifications sent and not
delivered, and who silenced or acknowledged what."""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.builders import table, timeseries
from grafana_foundation_sdk.models import common

from aedfleet.dashboards import queries
from aedfleet.dashboards.layout import Sized, place
from aedfleet.dashboards.panels import (
    LINK_TO_CABINET,
    ONE_TABLE,
    SINCE,
    current,
    new_board,
    renamed,
    transformation,
    worst_alert,
)
from aedfleet.dashboards.site import Site
from aedfleet.dashboards.targets import DATASOURCE, Annotation, Query

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
        .override_by_name("level", worst_alert("worst"))
        .override_by_name("name", [LINK_TO_CABINET])
    )  # fmt: skip


def incidents(s: Site) -> board.Dashboard:
    openings = "WHERE (\"ev\" = 'door_open' OR \"ev\" = 'aed_removed') AND $timeFilter"
    dashboard = (
        new_board("AED incidents", "aedfleet-incidents", "now-7d")
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
    return place(dashboard, [
        [Sized(timeline, 24, 8)],
        [Sized(open_alerts(s), 12, 10), Sized(openings_table, 12, 10)],
        [Sized(sent, 12, 8), Sized(undelivered, 12, 8)],
        [Sized(operator_actions, 24, 8)],
    ])  # fmt: skip
