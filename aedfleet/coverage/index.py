"""The spatial index: which places lie in each cabinet's circle, and which cabinets around each
place, found once so that a cabinet's change touches only its own circle.

scipy's cKDTree over 3-D unit vectors: a radius query there is an exact great-circle query
(the chord grows with the arc), with no seam at the antimeridian or the poles that a lat/lon
R-tree or an h3 ring needs handled, and it answers nearest-neighbour queries too."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from aedfleet.coverage.geo import chord_for, haversine_m, unit_vector

# a chord a little longer than the radius's, so that no place the haversine puts on or inside
# the circle is lost to rounding; the haversine then decides
_CHORD_SLACK = 1 + 1e-9

Point = tuple[float, float]  # latitude, longitude in degrees


def _vectors(points: Sequence[Point]) -> NDArray[np.float64]:
    return np.array([unit_vector(lat, lon) for lat, lon in points], dtype=np.float64).reshape(-1, 3)


class CircleIndex:
    """`places_of[c]`: (place, metres) inside cabinet c's circle; `cabinets_of[p]`: (cabinet,
    metres) whose circle holds place p, nearest first."""

    def __init__(self, cabinets: Sequence[Point], places: Sequence[Point], radius_m: float) -> None:
        self.radius_m = radius_m
        self._cabinets = list(cabinets)
        self._places = list(places)
        self._cabinet_tree = cKDTree(_vectors(self._cabinets))
        self._place_tree = cKDTree(_vectors(self._places))
        self.places_of: list[list[tuple[int, float]]] = [[] for _ in self._cabinets]
        self.cabinets_of: list[list[tuple[int, float]]] = [[] for _ in self._places]
        if not self._cabinets or not self._places:
            return
        circles = self._cabinet_tree.query_ball_tree(
            self._place_tree, chord_for(radius_m) * _CHORD_SLACK
        )
        for cabinet, place_indices in enumerate(circles):
            lat, lon = self._cabinets[cabinet]
            for place in place_indices:
                metres = haversine_m(lat, lon, *self._places[place])
                if metres <= radius_m:
                    self.places_of[cabinet].append((place, metres))
                    self.cabinets_of[place].append((cabinet, metres))
        for around in self.cabinets_of:
            around.sort(key=lambda pair: pair[1])

    def places_within(self, point: Point, radius_m: float) -> list[tuple[int, float]]:
        """The places within `radius_m` of `point`, with their distances."""
        if not self._places:
            return []
        found = self._place_tree.query_ball_point(
            np.array(unit_vector(*point)), chord_for(radius_m) * _CHORD_SLACK
        )
        near = [(int(place), haversine_m(*point, *self._places[place])) for place in found]
        return [(place, metres) for place, metres in near if metres <= radius_m]

    def nearest_cabinet(self, place: int, usable: Sequence[bool]) -> tuple[int, float] | None:
        """The nearest cabinet for which `usable` holds, at any distance; None if there is none."""
        total = len(self._cabinets)
        if total == 0:
            return None
        vector = _vectors([self._places[place]])[0]
        k = 8
        while True:
            _, found = self._cabinet_tree.query(vector, k=min(k, total))
            for cabinet in np.atleast_1d(found).tolist():
                if usable[cabinet]:
                    return cabinet, haversine_m(*self._places[place], *self._cabinets[cabinet])
            if k >= total:
                return None
            k *= 8
