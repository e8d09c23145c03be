"""Cabinets as coverage sees them: a point, a district and the hours it can be reached."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from aedfleet.collector.inventory import Cabinet
from aedfleet.coverage.hours import AccessHours, HoursError, parse_hours


@dataclass(frozen=True)
class Site:
    id: str
    name: str
    district: str
    lat: float
    lon: float
    hours: AccessHours


def sites_from(cabinets: Iterable[Cabinet]) -> list[Site]:
    """Every cabinet with its parsed `access_hours`; one that cannot be parsed stops start-up,
    naming the cabinet."""
    sites = []
    for cabinet in cabinets:
        try:
            hours = parse_hours(cabinet.access_hours)
        except HoursError as error:
            raise HoursError(f"cabinet {cabinet.id}: access_hours {error}") from error
        sites.append(Site(cabinet.id, cabinet.name, cabinet.district, cabinet.lat, cabinet.lon,
                          hours))  # fmt: skip
    return sites


def local_time(epoch_ms: int, utc_offset_minutes: int) -> datetime.datetime:
    """The fleet's wall-clock time at `epoch_ms`, which access hours are written in."""
    zone = datetime.timezone(datetime.timedelta(minutes=utc_offset_minutes))
    return datetime.datetime.fromtimestamp(epoch_ms / 1000, zone)


def usable_sites(sites: Iterable[Site], ready: set[str], local: datetime.datetime) -> set[str]:
    """The cabinets that are ready and can be reached at `local`."""
    return {site.id for site in sites if site.id in ready and site.hours.is_open(local)}
