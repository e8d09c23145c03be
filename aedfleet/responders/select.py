"""Pure: which responders are texted for an emergency at a cabinet. Up to K, within the radius,
nearest first, each with a valid certificate, available now, outside their quiet hours, not
texted in the last T minutes and under their daily budget.

The index is scipy's cKDTree over 3-D unit vectors, as for coverage (docs/coverage.md): a ball
query there is an exact great-circle query with no seam; the haversine then decides."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Final

import msgspec
import numpy as np
from scipy.spatial import cKDTree

from aedfleet.coverage.geo import chord_for, haversine_m, unit_vector
from aedfleet.responders.roster import Responder

DAY_MS: Final = 86_400_000
_CHORD_SLACK: Final = 1 + 1e-9


class Limits(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """docs/responders.md gives the reason for each default."""

    radius_m: float = 500.0
    max_responders: int = 5  # K
    rest_minutes: int = 30  # T: not texted again within this
    daily_budget: int = 3  # dispatches per responder per local day
    utc_offset_minutes: int = 480


class Pick(msgspec.Struct, frozen=True):
    index: int  # in the roster
    distance_m: float


def local_time(now_ms: int, utc_offset_minutes: int) -> datetime.datetime:
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(
        milliseconds=now_ms + utc_offset_minutes * 60_000
    )


def eligible(
    responder: Responder,
    texted_ms: Sequence[int],
    now_ms: int,
    limits: Limits,
) -> bool:
    """Whether a responder within the radius may be texted now; `texted_ms` are the moments
    they were dispatched before."""
    local = local_time(now_ms, limits.utc_offset_minutes)
    if responder.certificate_expiry < local.date():
        return False
    if not responder.available.is_open(local):
        return False
    if responder.quiet is not None and responder.quiet.is_open(local):
        return False
    if any(now_ms - at < limits.rest_minutes * 60_000 for at in texted_ms):
        return False
    day_start = now_ms - (now_ms + limits.utc_offset_minutes * 60_000) % DAY_MS
    return sum(1 for at in texted_ms if at >= day_start) < limits.daily_budget


class ResponderIndex:
    def __init__(self, responders: Sequence[Responder]) -> None:
        self.responders = list(responders)
        points = [unit_vector(r.lat, r.lon) for r in self.responders]
        self._tree = cKDTree(np.array(points, dtype=np.float64).reshape(-1, 3))

    def within(self, lat: float, lon: float, radius_m: float) -> list[Pick]:
        """Every responder within `radius_m`, nearest first."""
        if not self.responders:
            return []
        found = self._tree.query_ball_point(
            np.array(unit_vector(lat, lon)), chord_for(radius_m) * _CHORD_SLACK
        )
        picks = []
        for index in found:
            r = self.responders[index]
            metres = haversine_m(lat, lon, r.lat, r.lon)
            if metres <= radius_m:
                picks.append(Pick(int(index), metres))
        picks.sort(key=lambda pick: (pick.distance_m, pick.index))
        return picks

    def select(
        self,
        lat: float,
        lon: float,
        texted: Mapping[str, Sequence[int]],
        now_ms: int,
        limits: Limits,
    ) -> list[Pick]:
        """Up to K eligible responders within the radius, nearest first."""
        chosen: list[Pick] = []
        for pick in self.within(lat, lon, limits.radius_m):
            responder = self.responders[pick.index]
            if eligible(responder, texted.get(responder.id, ()), now_ms, limits):
                chosen.append(pick)
                if len(chosen) == limits.max_responders:
                    break
        return chosen


def select_brute_force(
    responders: Sequence[Responder],
    lat: float,
    lon: float,
    texted: Mapping[str, Sequence[int]],
    now_ms: int,
    limits: Limits,
) -> list[Pick]:
    """The same answer by scanning everyone: the benchmark's baseline and the tests' oracle."""
    near = [
        Pick(index, metres)
        for index, r in enumerate(responders)
        if (metres := haversine_m(lat, lon, r.lat, r.lon)) <= limits.radius_m
        and eligible(r, texted.get(r.id, ()), now_ms, limits)
    ]
    near.sort(key=lambda pick: (pick.distance_m, pick.index))
    return near[: limits.max_responders]
