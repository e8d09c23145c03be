"""The report as GeoJSON (RFC 7946) for GIS tools: each cabinet as a point and its circle as a
polygon, each place as a point, with what the report says of them as properties."""

from __future__ import annotations

import math
from typing import Any

from aedfleet.coverage.geo import EARTH_RADIUS_M
from aedfleet.coverage.report import Report

CIRCLE_VERTICES = 64


def circle_ring(lat: float, lon: float, radius_m: float) -> list[list[float]]:
    """A closed ring of points `radius_m` away along great circles, counterclockwise."""
    phi, lam, delta = math.radians(lat), math.radians(lon), radius_m / EARTH_RADIUS_M
    ring = []
    for step in range(CIRCLE_VERTICES + 1):
        bearing = -2 * math.pi * step / CIRCLE_VERTICES  # from north, counterclockwise
        phi2 = math.asin(math.sin(phi) * math.cos(delta)
                         + math.cos(phi) * math.sin(delta) * math.cos(bearing))  # fmt: skip
        lam2 = lam + math.atan2(math.sin(bearing) * math.sin(delta) * math.cos(phi),
                                math.cos(delta) - math.sin(phi) * math.sin(phi2))  # fmt: skip
        lon2 = (math.degrees(lam2) + 540) % 360 - 180
        ring.append([round(lon2, 7), round(math.degrees(phi2), 7)])
    ring[-1] = ring[0]
    return ring


def report_geojson(report: Report) -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    for c in report.cabinets:
        only = [p.id for p in report.sole_cover.get(c.site.id, [])]
        common = {"cabinet": c.site.id, "name": c.site.name, "district": c.site.district,
                  "state": c.state, "open_now": c.open_now, "ready": c.usable,
                  "access_hours": c.site.hours.text, "radius_m": report.radius_m,
                  "sole_cover_of": only}  # fmt: skip
        features.append(_feature({"type": "Point", "coordinates": [c.site.lon, c.site.lat]},
                                 {"feature": "cabinet", **common}))  # fmt: skip
        ring = circle_ring(c.site.lat, c.site.lon, report.radius_m)
        features.append(_feature({"type": "Polygon", "coordinates": [ring]},
                                 {"feature": "circle", **common}))  # fmt: skip
    for p in report.places:
        features.append(_feature(
            {"type": "Point", "coordinates": [p.place.lon, p.place.lat]},
            {"feature": "place", "place": p.place.id, "name": p.place.name, "kind": p.place.kind,
             "district": p.place.district, "weight": p.place.weight, "covered": p.covered,
             "nearest_cabinet": p.cabinet or None,
             "nearest_m": None if p.distance_m is None else round(p.distance_m, 1)},
        ))  # fmt: skip
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {"at": report.local.isoformat(), "radius_m": report.radius_m,
                       "places": report.fleet.places, "covered": report.fleet.covered,
                       "covered_pct": round(report.fleet.pct, 2),
                       "weighted_pct": round(report.fleet.weighted_pct, 2)},
    }  # fmt: skip


def _feature(geometry: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}
