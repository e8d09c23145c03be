"""The cabinet inventory: one CSV row per cabinet, as a programme keeps it in a spreadsheet."""

from __future__ import annotations

import csv
import datetime
import unicodedata
from pathlib import Path
from typing import Annotated, Final

import msgspec

from aedfleet.collector.protocol import CABINET_ID_PATTERN, RESERVED_ID_PREFIX

COLUMNS: Final = (
    "id",
    "name",
    "site",
    "district",
    "address",
    "lat",
    "lon",
    "access_hours",
    "guardian_name",
    "guardian_phone",
    "technician_phone",
    "aed_model",
    "install_date",
)
_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
_Address = Annotated[str, msgspec.Meta(max_length=200)]
_Short = Annotated[str, msgspec.Meta(max_length=60)]
_Phone = Annotated[str, msgspec.Meta(pattern=r"^(\+?[0-9]{6,16})?$")]
TEXT_COLUMNS: Final = ("name", "site", "district", "address", "access_hours", "guardian_name",
                       "aed_model")  # fmt: skip
# what may not appear in text that goes into an SMS, a log or a dashboard: control characters,
# invisible format characters and the bidirectional overrides that reorder what is shown
_BIDI_AND_INVISIBLE: Final = frozenset("\u061c\u200b\u200c\u200d\u200e\u200f\u2028\u2029"
                                       "\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067"
                                       "\u2068\u2069\ufeff")  # fmt: skip


class InventoryError(ValueError):
    """The inventory file cannot be used; the message names the row and column to fix."""


class Cabinet(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(pattern=CABINET_ID_PATTERN)]
    name: _Name
    site: _Name
    district: _Name
    address: _Address
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    access_hours: _Short
    guardian_name: _Short
    guardian_phone: _Phone
    technician_phone: _Phone
    aed_model: _Short
    install_date: datetime.date


Inventory = dict[str, Cabinet]


def load_inventory(path: Path) -> Inventory:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = set(COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise InventoryError(f"{path}: missing columns {sorted(missing)}")
        inventory: Inventory = {}
        for line_number, row in enumerate(reader, start=2):
            problem = row_problem(row)
            if problem:
                raise InventoryError(f"{path}:{line_number}: {problem}")
            try:
                cabinet = msgspec.convert({key: row[key] for key in COLUMNS}, Cabinet, strict=False)
            except msgspec.ValidationError as error:
                raise InventoryError(f"{path}:{line_number}: {error}") from error
            if cabinet.id in inventory:
                raise InventoryError(f"{path}:{line_number}: cabinet {cabinet.id} listed twice")
            inventory[cabinet.id] = cabinet
    return inventory


def text_problem(text: str) -> str | None:
    """Why `text` may not be shown to anyone, or None."""
    for character in text:
        if character in _BIDI_AND_INVISIBLE or unicodedata.category(character) == "Cc":
            return f"holds the control or bidirectional character U+{ord(character):04X}"
        if character == "\\":
            return "holds a backslash"
    return None


def row_problem(row: dict[str, str | None]) -> str | None:
    cabinet_id = row.get("id") or ""
    if cabinet_id.startswith(RESERVED_ID_PREFIX):
        return (f"id {cabinet_id!r}: names starting {RESERVED_ID_PREFIX!r} are reserved for the "
                "service accounts")  # fmt: skip
    for column in TEXT_COLUMNS:
        problem = text_problem(row.get(column) or "")
        if problem:
            return f"{column} {problem}"
    return None


def write_inventory(path: Path, cabinets: list[Cabinet]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for cabinet in cabinets:
            writer.writerow(msgspec.to_builtins(cabinet))
