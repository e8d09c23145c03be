"""Panels placed on Grafana's 24-column grid explicitly, row by row: the SDK's automatic
placement wraps only after a row is full, so a wide panel after a narrow one ran past the
grid's edge. A row holds panels side by side; a column (a list) stacks panels of one width."""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.builders import geomap, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.models import dashboard as model

GRID_COLUMNS: Final = 24
Placeable = geomap.Panel | stat.Panel | statetimeline.Panel | table.Panel | timeseries.Panel


class Sized:
    """A panel with its width and height in grid units."""

    def __init__(self, panel: Placeable, width: int, height: int) -> None:
        self.panel, self.width, self.height = panel, width, height


Cell = Sized | list[Sized]


def place(dashboard: board.Dashboard, rows: list[list[Cell]]) -> board.Dashboard:
    y = 0
    for row in rows:
        x, row_height = 0, 0
        for cell in row:
            stack = cell if isinstance(cell, list) else [cell]
            width = stack[0].width
            if x + width > GRID_COLUMNS or any(s.width != width for s in stack):
                raise ValueError(f"row {rows.index(row)} does not fit the 24-column grid")
            top = y
            for sized in stack:
                position = model.GridPos(h=sized.height, w=width, x=x, y=top)
                dashboard = dashboard.with_panel(sized.panel.grid_pos(position))
                top += sized.height
            x += width
            row_height = max(row_height, top - y)
        y += row_height
    return dashboard
