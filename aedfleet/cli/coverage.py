"""`aedfleet coverage report` and `aedfleet coverage plan`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import datetime

    from aedfleet.coverage.live import LiveCoverage
    from aedfleet.coverage.report import Report

# what only a running command needs (the spatial index, the picture) is imported inside it,
# so that `aedfleet --help` stays quick

AT_FORMAT = "%Y-%m-%d %H:%M"
AT_FORMATS = (AT_FORMAT, AT_FORMAT + ":%S")


@click.group()
def coverage() -> None:
    """Which key places a ready, accessible AED covers (the golden four minutes), and where
    the next AEDs should go (docs/coverage.md)."""


def _default(name: str) -> Callable[[], float]:
    """A radius setting's default from aedfleet/coverage/geo.py, read only when a command runs."""

    def value() -> float:
        from aedfleet.coverage import geo

        return float(getattr(geo, name))

    return value


def _common(command: Callable[..., None]) -> Callable[..., None]:
    options = [
        click.option("--places", "places_path", type=click.Path(dir_okay=False, exists=True,
                      path_type=Path),
                      help="Key-places CSV (docs/coverage.md); without it, the Binzhou demo set."),
        click.option("--inventory", "inventory_path", type=click.Path(dir_okay=False,
                      exists=True, path_type=Path),
                      help="Cabinet inventory CSV; without it, the Binzhou demo fleet."),
        click.option("--influx-url", envvar="AEDFLEET_INFLUX_URL", default="",
                     help="InfluxDB to read the cabinets' readiness from (cabinet_state)."),
        click.option("--database", envvar="AEDFLEET_INFLUX_DATABASE", default="aedfleet",
                     show_default=True),
        click.option("--all-ready", is_flag=True,
                     help="Take every cabinet as ready, without InfluxDB (planning)."),
        click.option("--at", "at_text", metavar="'YYYY-MM-DD HH:MM[:SS]'",
                     help="The fleet's local time to answer for (default: now); readiness is "
                          "the last known at that moment, or now for a time to come."),
        click.option("--utc-offset-minutes", type=int, default=480, show_default=True,
                     help="The fleet's local time, in which access hours are written."),
        click.option("--retrieval-s", type=float, default=_default("RETRIEVAL_S"),
                     show_default="240", help="Round trip to fetch the AED."),
        click.option("--walk-speed", type=float, default=_default("WALK_M_PER_S"),
                     show_default="1.5", help="Metres per second."),
        click.option("--detour", type=float, default=_default("DETOUR_FACTOR"),
                     show_default="1.2", help="Street distance / straight-line distance."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def _build(options: dict[str, Any]) -> tuple[Report, LiveCoverage, str]:
    """The report for the options given, and a line on where readiness came from."""
    import datetime
    import time

    import httpx

    from aedfleet.collector.inventory import InventoryError, load_inventory
    from aedfleet.coverage.geo import radius_m
    from aedfleet.coverage.hours import HoursError
    from aedfleet.coverage.places import DEMO_PLACES, PlacesError, load_places
    from aedfleet.coverage.readiness import readiness_at
    from aedfleet.coverage.report import READY, build_report
    from aedfleet.coverage.sites import local_time, sites_from
    from aedfleet.influx_query import InfluxQLError
    from aedfleet.simulator.demo_fleet import demo_inventory

    try:
        places = load_places(options["places_path"] or DEMO_PLACES)
        cabinets = (list(load_inventory(options["inventory_path"]).values())
                    if options["inventory_path"] else demo_inventory())  # fmt: skip
        sites = sites_from(cabinets)
        radius = radius_m(options["retrieval_s"], options["walk_speed"], options["detour"])
    except (PlacesError, InventoryError, HoursError, OSError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    offset = datetime.timezone(datetime.timedelta(minutes=options["utc_offset_minutes"]))
    now_ms = int(time.time() * 1000)
    if options["at_text"]:
        at = _parse_at(options["at_text"], offset)
    else:
        at = local_time(now_ms, options["utc_offset_minutes"])
    if options["all_ready"]:
        readiness = {s.id: READY for s in sites}
        source = "readiness: every cabinet taken as ready (--all-ready)"
    elif options["influx_url"]:
        asked_ms = min(int(at.timestamp() * 1000), now_ms)
        try:
            readiness = readiness_at(options["influx_url"], options["database"], asked_ms)
        except (InfluxQLError, httpx.HTTPError) as error:
            raise click.ClickException(f"reading readiness: {error}") from error
        when = local_time(asked_ms, options["utc_offset_minutes"])
        source = (f"readiness: cabinet_state in the 5 minutes to {when:%Y-%m-%d %H:%M}, "
                  f"known for {len(readiness)} of {len(sites)} cabinets")  # fmt: skip
    else:
        raise click.UsageError("give --influx-url (or AEDFLEET_INFLUX_URL) or --all-ready")
    report, live = build_report(places, sites, readiness, at, radius)
    return report, live, source


@coverage.command("report")
@_common
@click.option("--map", "map_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Draw the map picture (PNG) here.")  # fmt: skip
@click.option("--geojson", "geojson_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the same as GeoJSON here.")  # fmt: skip
def report_command(map_path: Path | None, geojson_path: Path | None, **options: Any) -> None:
    """Per district, places covered / total (plain and weighted); the uncovered places with the
    nearest ready AED; the cabinets that are the only cover of a place.

    Example: aedfleet coverage report --influx-url http://127.0.0.1:8086 --at "2026-12-01 03:00"
    --map coverage.png
    """
    import json

    from aedfleet.coverage.geojson import report_geojson
    from aedfleet.coverage.picture import draw_map
    from aedfleet.coverage.report import format_report

    report, _, source = _build(options)
    click.echo(format_report(report))
    click.echo(f"\n{source}")
    if map_path is not None:
        draw_map(report, map_path)
        click.echo(f"map: {map_path}")
    if geojson_path is not None:
        geojson_path.write_text(json.dumps(report_geojson(report), ensure_ascii=False),
                                encoding="utf-8")  # fmt: skip
        click.echo(f"geojson: {geojson_path}")


@coverage.command("plan")
@_common
@click.option("--add", type=click.IntRange(1, 1000), required=True,
              help="How many new cabinet sites to propose.")  # fmt: skip
@click.option("--candidates", "candidates_path", type=click.Path(dir_okay=False, exists=True,
              path_type=Path), help="Candidate sites CSV (name, lat, lon); default: the "
              "uncovered places themselves.")  # fmt: skip
def plan_command(add: int, candidates_path: Path | None, **options: Any) -> None:
    """Propose the next ADD cabinet sites that most increase weighted coverage (greedy), with
    the coverage after each.

    Example: aedfleet coverage plan --add 5 --all-ready
    """
    import functools

    from aedfleet.coverage.plan import (
        CandidatesError,
        greedy_plan,
        load_candidates,
        uncovered_places_as_candidates,
    )

    report, live, source = _build(options)
    try:
        candidates = (load_candidates(candidates_path) if candidates_path
                      else uncovered_places_as_candidates(live))  # fmt: skip
    except (CandidatesError, OSError) as error:
        raise click.ClickException(str(error)) from error
    fleet = report.fleet
    percent = functools.partial(_percent, places=fleet.places, weight=fleet.weight)
    click.echo(f"now: {percent(fleet.covered, fleet.covered_weight)}")
    steps = greedy_plan(live, candidates, add)
    for number, step in enumerate(steps, start=1):
        c = step.candidate
        gained = ", ".join(live.places[n].name for n in step.gained)
        click.echo(f"+{number}  {c.name} ({c.lat:.5f}, {c.lon:.5f}) covers {gained}\n"
                   f"     -> {percent(step.covered, step.covered_weight)}")  # fmt: skip
    if len(steps) < add:
        click.echo(f"no candidate covers anything more after {len(steps)} sites")
    click.echo(f"\n{source}")


def _percent(covered: int, covered_weight: float, *, places: int, weight: float) -> str:
    plain = 100 * covered / places if places else 0.0
    weighted = 100 * covered_weight / weight if weight else 0.0
    return f"{covered}/{places} places covered ({plain:.1f} %), weighted {weighted:.1f} %"


def _parse_at(text: str, offset: datetime.tzinfo) -> datetime.datetime:
    import datetime

    for form in AT_FORMATS:
        try:
            return datetime.datetime.strptime(text, form).replace(tzinfo=offset)
        except ValueError:
            continue
    raise click.BadParameter(f"expected {AT_FORMAT!r}, seconds optional", param_hint="--at")
