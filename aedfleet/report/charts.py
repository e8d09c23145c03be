"""The report's charts as PNG bytes (matplotlib, without pyplot: no global state, no display):
daily readiness per district, where uses happened, and alerts by rule."""

from __future__ import annotations

import datetime
import io
from typing import Final

from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from aedfleet.report.figures import Report
from aedfleet.report.fonts import cjk_font
from aedfleet.report.words import Lang, name_of

DPI: Final = 150
EPOCH: Final = datetime.date(1970, 1, 1)
COLOURS: Final = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip


def _font() -> str:
    path = cjk_font()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, bbox_inches="tight")
    return out.getvalue()


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height))
    figure.set_layout_engine("constrained")
    return figure


def daily_readiness(report: Report, w: dict[str, str]) -> bytes:
    """One line per district: its cabinets' time-weighted readiness % each day."""
    font = _font()
    figure = _figure(7.5, 3.4)
    axes = figure.add_subplot()
    # matplotlib's date numbers: days since its epoch, 1970-01-01
    days = [(report.month.local(s).date() - EPOCH).days for s in report.day_starts]
    lowest = 100.0
    for index, (district, values) in enumerate(report.district_daily.items()):
        points = [(d, v) for d, v in zip(days, values, strict=True) if v is not None]
        if not points:
            continue
        lowest = min(lowest, *(v for _, v in points))
        axes.plot([d for d, _ in points], [v for _, v in points], marker="o", markersize=2.5,
                  linewidth=1.4, label=district, color=COLOURS[index % len(COLOURS)])  # fmt: skip
    axes.set_ylim(max(0.0, min(lowest - 5, 95.0)), 100.5)
    axes.set_ylabel("%", fontfamily=font)
    axes.set_title(w["daily_chart"], fontfamily=font, fontsize=11)
    axes.grid(alpha=0.3)
    axes.xaxis.set_major_formatter(DateFormatter("%m-%d"))  # type: ignore[no-untyped-call]
    if axes.lines:
        axes.legend(prop={"family": font, "size": 7}, ncol=min(5, len(axes.lines)),
                    loc="lower left", frameon=True)  # fmt: skip
    else:
        _nothing(axes, w, font)
    return _png(figure)


def _nothing(axes: Axes, w: dict[str, str], font: str) -> None:
    """An empty chart says so, instead of showing bare axes."""
    axes.text(0.5, 0.5, w["not_available"], transform=axes.transAxes, ha="center",
              va="center", fontfamily=font, fontsize=12, color="#757575")  # fmt: skip


def uses_map(report: Report, w: dict[str, str]) -> bytes:
    """Every cabinet as a grey dot, every use as a red marker with its cabinet id."""
    font = _font()
    figure = _figure(6.0, 4.2)
    axes = figure.add_subplot()
    if report.positions:
        lons, lats = zip(*((lon, lat) for lat, lon in report.positions.values()), strict=True)
        axes.scatter(lons, lats, s=8, color="#9e9e9e", label=w["cabinet"], zorder=1)
    placed = [(u.cabinet, u.lon, u.lat) for u in report.uses
              if u.lat is not None and u.lon is not None]  # fmt: skip
    if placed:
        axes.scatter([p[1] for p in placed], [p[2] for p in placed], s=80, color="#d62728",
                     marker="*", label=w["uses"], zorder=2)  # fmt: skip
        for cabinet, lon, lat in placed:
            axes.annotate(cabinet, (lon, lat), fontsize=7, xytext=(4, 4),
                          textcoords="offset points")  # fmt: skip
    axes.set_xlabel(w["lon"], fontfamily=font)
    axes.set_ylabel(w["lat"], fontfamily=font)
    axes.set_aspect("equal", adjustable="datalim")
    axes.set_title(w["uses_map"], fontfamily=font, fontsize=11)
    axes.grid(alpha=0.3)
    if report.positions or placed:
        axes.legend(prop={"family": font, "size": 7}, loc="best")
    else:
        _nothing(axes, w, font)
    return _png(figure)


def alerts_by_rule(report: Report, w: dict[str, str], lang: Lang) -> bytes:
    """Horizontal bars: alerts raised in the month, per rule."""
    font = _font()
    counts: dict[str, int] = {}
    for row in report.alert_rows:
        rule = name_of(row.rule, lang)
        counts[rule] = counts.get(rule, 0) + row.raised
    figure = _figure(6.0, 0.5 + 0.35 * max(2, len(counts)))
    axes = figure.add_subplot()
    names = sorted(counts, key=lambda rule: counts[rule])
    axes.barh(names, [counts[n] for n in names], color="#1f77b4")
    axes.set_yticks(range(len(names)), names, fontfamily=font)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    for index, name in enumerate(names):
        axes.annotate(str(counts[name]), (counts[name], index), xytext=(3, -3),
                      textcoords="offset points", fontsize=8)  # fmt: skip
    if not counts:
        _nothing(axes, w, font)
    axes.set_title(w["alerts_section"], fontfamily=font, fontsize=11)
    axes.set_xlabel(w["count"], fontfamily=font)
    axes.grid(alpha=0.3, axis="x")
    return _png(figure)
