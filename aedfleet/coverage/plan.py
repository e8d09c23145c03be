"""Where the next AEDs should go: greedy maximum coverage of the weight of the places no usable
cabinet covers now. Greedy is within 1 - 1/e of the best, and each step's figure is exact."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final

import msgspec

from aedfleet.collector.inventory import text_problem
from aedfleet.coverage.live import LiveCoverage

CANDIDATE_COLUMNS: Final = ("name", "lat", "lon")


class CandidatesError(ValueError):
    """The candidate sites file cannot be used; the message names the line."""


class Candidate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)]


@dataclass(frozen=True)
class Step:
    """One proposed site, the places it newly covers, and the fleet's coverage with it."""

    candidate: Candidate
    gained: list[int]
    covered: int
    covered_weight: float


def load_candidates(path: Path) -> list[Candidate]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = set(CANDIDATE_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise CandidatesError(f"{path}: missing columns {sorted(missing)}")
        candidates = []
        for line_number, row in enumerate(reader, start=2):
            problem = text_problem(row.get("name") or "")
            if problem:
                raise CandidatesError(f"{path}:{line_number}: name {problem}")
            try:
                fields = {key: row[key] for key in CANDIDATE_COLUMNS}
                candidates.append(msgspec.convert(fields, Candidate, strict=False))
            except msgspec.ValidationError as error:
                raise CandidatesError(f"{path}:{line_number}: {error}") from error
    return candidates


def uncovered_places_as_candidates(coverage: LiveCoverage) -> list[Candidate]:
    return [
        Candidate(name=place.name, lat=place.lat, lon=place.lon)
        for number, place in enumerate(coverage.places)
        if not coverage.is_covered(number)
    ]


def greedy_plan(coverage: LiveCoverage, candidates: Sequence[Candidate], add: int) -> list[Step]:
    """Up to `add` sites, each the candidate that newly covers the most weight (the first
    listed on a tie); stops early when no candidate covers anything more."""
    reach = [
        {
            place
            for place, _ in coverage.index.places_within((c.lat, c.lon), coverage.radius_m)
            if not coverage.is_covered(place)
        }
        for c in candidates
    ]
    weights = [place.weight for place in coverage.places]
    fleet = coverage.fleet()
    covered, covered_weight = fleet.covered, fleet.covered_weight
    steps: list[Step] = []
    taken: set[int] = set()
    for _ in range(add):
        gains = [sum(weights[p] for p in places - taken) for places in reach]
        best = max(range(len(candidates)), key=lambda c: gains[c], default=None)
        if best is None or gains[best] <= 0:
            break
        gained = sorted(reach[best] - taken)
        taken.update(gained)
        covered += len(gained)
        covered_weight += gains[best]
        steps.append(Step(candidates[best], gained, covered, covered_weight))
    return steps
