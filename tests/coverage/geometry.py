"""Hand-made instances for the coverage tests: places and cabinets at chosen distances."""

from __future__ import annotations

import datetime

from aedfleet.coverage.geo import EARTH_RADIUS_M
from aedfleet.coverage.hours import parse_hours
from aedfleet.coverage.places import Place
from aedfleet.coverage.sites import Site

# 0.001 degree of a great circle (the equator, a meridian), in metres
MILLIDEGREE_M = EARTH_RADIUS_M * 0.001 * 3.141592653589793 / 180
NOON = datetime.datetime(2026, 12, 1, 12, 0)  # a Tuesday


def place(place_id: str, lat: float, lon: float, weight: float = 1.0, district: str = "A") -> Place:
    return Place(id=place_id, name=f"Place {place_id}", kind="square", district=district,
                 lat=lat, lon=lon, weight=weight)  # fmt: skip


def site(site_id: str, lat: float, lon: float, hours: str = "24/7") -> Site:
    return Site(site_id, f"Cabinet {site_id}", "A", lat, lon, parse_hours(hours))
