"""The report as a picture. One panel per district at true scale (local kilometres: circles
round, distances honest), where a cabinet is a square (green: ready and accessible, grey: not)
and a key place a dot (dark: covered) or a red cross, named (uncovered). A district is many
kilometres across and a circle 0.3 km, so a row of close-ups, 1 km across, shows the circles
themselves where they matter most: the uncovered places a cabinet that is not usable would
cover, and places under more than one circle."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Circle
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from aedfleet.coverage.geo import EARTH_RADIUS_M, haversine_m
from aedfleet.coverage.live import PlaceCoverage
from aedfleet.coverage.report import CabinetStatus, Report

READY_GREEN = "#1a9641"
NOT_READY_GREY = "#7f7f7f"
UNCOVERED_RED = "#d7191c"
COVERED_DARK = "#253494"
COLUMNS = 4
CLOSE_UP_KM = 1.0
LABEL_JOIN = 0.03  # uncovered places closer than this share of a panel's width share a label
# (dx, dy) points from the cross, horizontal and vertical alignment: beside it first, then
# further out on a leader line
_LABEL_OFFSETS = tuple(
    (round(r * math.cos(a)), round(r * math.sin(a)),
     "left" if math.cos(a) > 0.3 else "right" if math.cos(a) < -0.3 else "center",
     "bottom" if math.sin(a) > 0.3 else "top" if math.sin(a) < -0.3 else "center")
    for r in (8, 22, 38, 56, 76)
    for a in (math.radians(d) for d in (-20, 20, 200, 160, 270, 90, -60, 60, 240, 120))
)  # fmt: skip
_Label = tuple[tuple[float, float], str, str]  # where, text, colour
_Pending = tuple[list[_Label], list[tuple[float, float]]]  # labels, markers to keep clear


@dataclass(frozen=True)
class _Frame:
    """Kilometres east and north of a centre, on the local tangent plane."""

    lat0: float
    lon0: float

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        dlon = (lon - self.lon0 + 540) % 360 - 180
        cos0 = math.cos(math.radians(self.lat0))
        return (EARTH_RADIUS_M * math.radians(dlon) * cos0 / 1000,
                EARTH_RADIUS_M * math.radians(lat - self.lat0) / 1000)  # fmt: skip


def _local(report: Report) -> str:
    offset = report.local.strftime("%z")
    return f"{report.local:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def draw_map(report: Report, path: Path) -> None:
    cabinets: dict[str, list[CabinetStatus]] = defaultdict(list)
    places: dict[str, list[PlaceCoverage]] = defaultdict(list)
    for c in report.cabinets:
        cabinets[c.site.district].append(c)
    for p in report.places:
        places[p.place.district].append(p)
    districts = sorted(set(cabinets) | set(places))
    close_ups = _close_ups(report)
    rows = math.ceil((len(districts) + 1) / COLUMNS) + (1 if close_ups else 0)
    figure, grid = plt.subplots(rows, COLUMNS, figsize=(7.5 * COLUMNS, 7.6 * rows), squeeze=False)
    axes = [ax for row in grid for ax in row]
    tallies = {t.district: t for t in report.districts}
    labels: list[tuple[Axes, _Pending]] = []
    for ax, district in zip(axes, districts, strict=False):
        labels.append(
            (ax, _overview(ax, district, cabinets[district], places[district], report.radius_m))
        )
        tally = tallies.get(district)
        ax.set_title(f"{district}: {tally.covered}/{tally.places} places covered\n"
                     f"({tally.pct:.0f} %, weighted {tally.weighted_pct:.0f} %)" if tally
                     else f"{district}: no key places", fontsize=13)  # fmt: skip
    _legend(axes[len(districts)], report)
    used = len(districts) + 1
    first_close_up = (rows - 1) * COLUMNS if close_ups else used
    for ax in axes[used:first_close_up]:
        ax.set_axis_off()
    for ax, (title, centre) in zip(axes[first_close_up:], close_ups, strict=False):
        labels.append((ax, _close_up(ax, report, title, centre)))
    for ax in axes[first_close_up + len(close_ups) :]:
        ax.set_axis_off()
    figure.suptitle(
        f"AED coverage of key places at {_local(report)}: {report.fleet.covered}/"
        f"{report.fleet.places} covered ({report.fleet.pct:.1f} %, weighted "
        f"{report.fleet.weighted_pct:.1f} %)",
        fontsize=20,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    for ax, (pending, markers) in labels:  # placed once the layout is final: they measure
        _place_labels(ax, pending, markers)
    figure.savefig(path, dpi=80)
    plt.close(figure)


def _cabinet(ax: Axes, xy: tuple[float, float], usable: bool, size: float) -> None:
    colour = READY_GREEN if usable else NOT_READY_GREY
    ax.plot(*xy, marker="s", markersize=size, markerfacecolor="none", markeredgecolor=colour,
            markeredgewidth=2.2, linestyle="none", zorder=3)  # fmt: skip


def _place(ax: Axes, xy: tuple[float, float], covered: bool, size: float) -> None:
    if covered:
        ax.plot(*xy, marker="o", markersize=size * 0.6, color=COVERED_DARK, linestyle="none",
                zorder=4)  # fmt: skip
    else:
        ax.plot(*xy, marker="X", markersize=size, color=UNCOVERED_RED, markeredgecolor="white",
                markeredgewidth=0.6, linestyle="none", zorder=5)  # fmt: skip


def _square_limits(ax: Axes, xs: list[float], ys: list[float], least_km: float) -> None:
    half = max(max(xs) - min(xs), max(ys) - min(ys), least_km) / 2 * 1.3
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    ax.set_xlim(cx - half, cx + half)
    ax.set_ylim(cy - half, cy + half)
    ax.set_aspect("equal")
    ax.set_xlabel("km east", fontsize=9)
    ax.set_ylabel("km north", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(True, linewidth=0.3, alpha=0.5)


def _overview(
    ax: Axes, district: str, cabinets: list[CabinetStatus], places: list[PlaceCoverage],
    radius_m: float,
) -> _Pending:  # fmt: skip
    """Draws the district; returns the labels to place and every marker they must not hide."""
    points = [(c.site.lat, c.site.lon) for c in cabinets] + [
        (p.place.lat, p.place.lon) for p in places
    ]
    frame = _Frame(sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
    for c in cabinets:
        xy = frame.xy(c.site.lat, c.site.lon)
        ax.add_patch(Circle(xy, radius_m / 1000, color=READY_GREEN if c.usable else
                            NOT_READY_GREY, alpha=0.3, zorder=2))  # fmt: skip
        _cabinet(ax, xy, c.usable, 10)
    for p in places:
        _place(ax, frame.xy(p.place.lat, p.place.lon), p.covered, 9)
    xs, ys = zip(*(frame.xy(lat, lon) for lat, lon in points), strict=True)
    span_km = max(max(xs) - min(xs), max(ys) - min(ys), 2.0)
    uncovered = [p for p in places if not p.covered]
    _square_limits(ax, list(xs), list(ys), 2.0)
    groups = _label_groups(uncovered, district, span_km * 1000 * LABEL_JOIN)
    labels = [(frame.xy(lat, lon), "\n".join(names), UNCOVERED_RED) for (lat, lon), names in groups]
    return labels, list(zip(xs, ys, strict=True))


def _place_labels(ax: Axes, labels: list[_Label], markers: list[tuple[float, float]]) -> None:
    """Each label beside its cross, at the first of a few positions where it overprints no
    label and no cross already there and stays inside the panel (else where it overlaps least)."""
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    panel = ax.get_window_extent(renderer)
    taken = []
    for xy in markers:
        x, y = ax.transData.transform(xy)
        taken.append(Bbox.from_extents(x - 9, y - 9, x + 9, y + 9))
    for xy, text, colour in labels:
        best: tuple[int, Annotation, Bbox] | None = None
        for dx, dy, ha, va in _LABEL_OFFSETS:
            leader = {"arrowstyle": "-", "color": colour, "linewidth": 0.6,
                      "shrinkA": 0, "shrinkB": 4} if abs(dx) + abs(dy) > 12 else None  # fmt: skip
            label = ax.annotate(text, xy, xytext=(dx, dy), textcoords="offset points", ha=ha,
                                va=va, fontsize=8.5, color=colour, zorder=6,
                                arrowprops=leader)  # fmt: skip
            box = label.get_window_extent(renderer)
            outside = not (panel.x0 <= box.x0 and box.x1 <= panel.x1 and panel.y0 <= box.y0
                           and box.y1 <= panel.y1)  # fmt: skip
            clashes = sum(1 for other in taken if box.overlaps(other)) + 2 * outside
            if best is None or clashes < best[0]:
                if best is not None:
                    best[1].remove()
                best = (clashes, label, box)
            else:
                label.remove()
            if clashes == 0:
                break
        assert best is not None
        taken.append(best[2])


def _label_groups(
    uncovered: list[PlaceCoverage], district: str, join_m: float
) -> list[tuple[tuple[float, float], list[str]]]:
    """Uncovered places near each other under one label, so that names never overprint."""
    groups: list[tuple[tuple[float, float], list[str]]] = []
    for p in sorted(uncovered, key=lambda p: -p.place.weight):
        name = p.place.name.removeprefix(f"{district} ")
        for anchor, names in groups:
            if haversine_m(*anchor, p.place.lat, p.place.lon) < join_m:
                names.append(name)
                break
        else:
            groups.append(((p.place.lat, p.place.lon), [name]))
    return groups


def _close_ups(report: Report) -> list[tuple[str, tuple[float, float]]]:
    """Up to four spots worth seeing circle by circle: the busiest uncovered places that a
    cabinet not usable now would cover, then places under several circles."""
    by_id = {p.place.id: p for p in report.places}
    lost = sorted((by_id[pid] for pid in report.in_reach), key=lambda p: -p.place.weight)
    spots = [(f"close-up: {p.place.name}\nlost its cover", (p.place.lat, p.place.lon))
             for p in lost]  # fmt: skip
    for p in report.places:
        if report.covers[p.place.id] > 1:
            spots.append((f"close-up: {p.place.name}\ncovered by {report.covers[p.place.id]} AEDs",
                          (p.place.lat, p.place.lon)))  # fmt: skip
    chosen: list[tuple[str, tuple[float, float]]] = []
    for title, centre in spots:
        if all(haversine_m(*centre, *other) > CLOSE_UP_KM * 1000 for _, other in chosen):
            chosen.append((title, centre))
    lost_spots = [s for s in chosen if s[0].endswith("lost its cover")]
    shared = [s for s in chosen if not s[0].endswith("lost its cover")]
    return (lost_spots[: COLUMNS - min(1, len(shared))] + shared)[:COLUMNS]


def _close_up(ax: Axes, report: Report, title: str, centre: tuple[float, float]) -> _Pending:
    frame = _Frame(*centre)
    reach_m = CLOSE_UP_KM * 1000
    labels: list[_Label] = []
    markers = []
    for c in report.cabinets:
        if haversine_m(*centre, c.site.lat, c.site.lon) < reach_m:
            xy = frame.xy(c.site.lat, c.site.lon)
            colour = READY_GREEN if c.usable else NOT_READY_GREY
            ax.add_patch(Circle(xy, report.radius_m / 1000, facecolor=colour, alpha=0.25,
                                edgecolor=colour, linewidth=2, zorder=2))  # fmt: skip
            _cabinet(ax, xy, c.usable, 14)
            labels.append((xy, f"{c.site.id}: {'ready' if c.usable else _why(c)}", colour))
            markers.append(xy)
    for p in report.places:
        if haversine_m(*centre, p.place.lat, p.place.lon) < reach_m:
            xy = frame.xy(p.place.lat, p.place.lon)
            _place(ax, xy, p.covered, 12)
            name = p.place.name.removeprefix(f"{p.place.district} ")
            labels.append((xy, name, COVERED_DARK if p.covered else UNCOVERED_RED))
            markers.append(xy)
    half = CLOSE_UP_KM / 2
    ax.set_xlim(-half, half)
    ax.set_ylim(-half, half)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=12)
    ax.set_xlabel("km east", fontsize=9)
    ax.set_ylabel("km north", fontsize=9)
    ax.tick_params(labelsize=8)
    return labels, markers
    ax.grid(True, linewidth=0.3, alpha=0.5)


def _why(c: CabinetStatus) -> str:
    if c.state != "available":
        return c.state.replace("_", " ")
    return f"closed ({c.site.hours.text})"


def _legend(ax: Axes, report: Report) -> None:
    ax.set_axis_off()
    handles = [
        Line2D([], [], marker="s", markerfacecolor="none", markeredgecolor=READY_GREEN,
               markeredgewidth=2.2, linestyle="none", markersize=12,
               label="AED ready and accessible"),
        Line2D([], [], marker="s", markerfacecolor="none", markeredgecolor=NOT_READY_GREY,
               markeredgewidth=2.2, linestyle="none", markersize=12,
               label="AED not ready, offline or closed"),
        Line2D([], [], marker="o", color=COVERED_DARK, linestyle="none", markersize=7,
               label="key place covered"),
        Line2D([], [], marker="X", color=UNCOVERED_RED, linestyle="none", markersize=11,
               label="key place NOT covered (named)"),
    ]  # fmt: skip
    ax.legend(handles=handles, loc="upper left", fontsize=13, frameon=False)
    ready = sum(1 for c in report.cabinets if c.usable)
    ax.text(0.02, 0.5, f"{ready} of {len(report.cabinets)} cabinets ready and accessible\n"
            f"{len(report.sole_cover)} of them the only cover of a place\n\n"
            f"Circle: {report.radius_m:.0f} m, the golden four minutes\n"
            "(round trip at a brisk walk, streets' detour).\n"
            "Drawn to scale: tiny on a district's map,\nseen in the close-ups below.",
            transform=ax.transAxes, fontsize=12, va="top")  # fmt: skip
