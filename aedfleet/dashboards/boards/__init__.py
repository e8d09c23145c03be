"""The ops room's dashboards, one module each: fleet overview (with the collector's health),
incidents, one cabinet, the technician's worklist and a problems-only wall for a TV.

Current state (the map, the counts, the tables of open alerts, problems and expiries) reads
the collector's `cabinet_state` snapshot over a fixed recent window (`Site.window`, panel
`timeFrom`), never the time picker: when the collector stops they go empty and the freshness
tiles turn red, instead of staying green. History (trends, openings, notifications) follows
the picker. Colours come from the site's alert settings (aedfleet/dashboards/site.py); what
the boards share is in aedfleet/dashboards/panels.py and queries.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from grafana_foundation_sdk.builders import dashboard as board

from aedfleet.dashboards.boards.cabinet import cabinet_detail
from aedfleet.dashboards.boards.coverage import coverage_board
from aedfleet.dashboards.boards.fleet_overview import fleet_overview
from aedfleet.dashboards.boards.incidents import incidents
from aedfleet.dashboards.boards.maintenance import maintenance
from aedfleet.dashboards.boards.wall import wall
from aedfleet.dashboards.site import Site

FOLDER: Final = "AED fleet"
DASHBOARDS: Final[dict[str, Callable[[Site], board.Dashboard]]] = {
    "fleet-overview": fleet_overview,
    "incidents": incidents,
    "cabinet": cabinet_detail,
    "maintenance": maintenance,
    "wall": wall,
    "coverage": coverage_board,
}
