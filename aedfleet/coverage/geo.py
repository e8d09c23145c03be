"""Great-circle geometry: exact haversine distances, and the walking circle's radius."""

from __future__ import annotations

import math
from typing import Final

# the mean Earth radius (IUGG), the one haversine distances are conventionally quoted with
EARTH_RADIUS_M: Final = 6_371_008.8

# docs/coverage.md gives the guidance behind each default
RETRIEVAL_S: Final = 240.0  # there and back: the golden four minutes
WALK_M_PER_S: Final = 1.5  # a brisk walk
DETOUR_FACTOR: Final = 1.2  # street distance / straight-line distance


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance in metres between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def radius_m(
    retrieval_s: float = RETRIEVAL_S,
    walk_m_per_s: float = WALK_M_PER_S,
    detour_factor: float = DETOUR_FACTOR,
) -> float:
    """The straight-line radius of a cabinet's circle: half the round trip a rescuer walks in
    `retrieval_s`, shortened by the streets' detour."""
    if retrieval_s <= 0 or walk_m_per_s <= 0 or detour_factor < 1:
        raise ValueError(
            "retrieval time and walking speed must be positive, the detour factor at least 1"
        )
    return retrieval_s * walk_m_per_s / 2 / detour_factor


def unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    """The point on the unit sphere: straight-line (chord) distances between these grow with
    great-circle distance, with no seam at the antimeridian and none at the poles."""
    phi, lam = math.radians(lat), math.radians(lon)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


def chord_for(distance_m: float) -> float:
    """The unit-sphere chord that spans a great-circle distance of `distance_m`."""
    return 2 * math.sin(min(math.pi, distance_m / EARTH_RADIUS_M) / 2)
