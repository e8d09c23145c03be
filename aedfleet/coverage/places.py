"""The key places a programme wants inside a golden-four-minutes circle: one CSV row each
(`id, name, kind, district, lat, lon, weight`), validated like the cabinet inventory: a bad row
stops start-up and names its line."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Final

import msgspec

from aedfleet.collector.inventory import text_problem

COLUMNS: Final = ("id", "name", "kind", "district", "lat", "lon", "weight")
KINDS: Final = ("station", "school", "hospital", "mall", "square", "park", "venue", "office",
                "market", "other")  # fmt: skip
# a place id is an InfluxDB tag value and part of alert keys: short, plain, bounded
PLACE_ID_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]{0,39}$"
DEMO_PLACES: Final = Path(__file__).with_name("binzhou_places.csv")
_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]


class PlacesError(ValueError):
    """The key-places file cannot be used; the message names the line and what to fix."""


class Place(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(pattern=PLACE_ID_PATTERN)]
    name: _Name
    kind: str
    district: _Name
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    # daily footfall or population; what weighted coverage counts
    weight: Annotated[float, msgspec.Meta(gt=0, le=1e9)] = 1.0


def load_places(path: Path) -> list[Place]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = set(COLUMNS) - {"weight"} - set(reader.fieldnames or ())
        if missing:
            raise PlacesError(f"{path}: missing columns {sorted(missing)}")
        places: list[Place] = []
        seen: set[str] = set()
        for line_number, row in enumerate(reader, start=2):
            problem = _row_problem(row)
            if problem:
                raise PlacesError(f"{path}:{line_number}: {problem}")
            fields = {key: row[key] for key in COLUMNS if row.get(key) not in (None, "")}
            try:
                place = msgspec.convert(fields, Place, strict=False)
            except msgspec.ValidationError as error:
                raise PlacesError(f"{path}:{line_number}: {error}") from error
            if place.id in seen:
                raise PlacesError(f"{path}:{line_number}: place {place.id} listed twice")
            seen.add(place.id)
            places.append(place)
    return places


def _row_problem(row: dict[str, str | None]) -> str | None:
    if None in row:
        return "more values than columns"
    for column in ("name", "district"):
        problem = text_problem(row.get(column) or "")
        if problem:
            return f"{column} {problem}"
    kind = row.get("kind") or ""
    if kind not in KINDS:
        return f"kind {kind!r} is not one of {', '.join(KINDS)}"
    return None


def write_places(path: Path, places: list[Place]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for place in places:
            writer.writerow(msgspec.to_builtins(place))
