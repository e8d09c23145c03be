"""The cabinet inventory: one CSV row per cabinet, as a programme keeps it in a spreadsheet."""

from __future__ import annotations

import csv
import datetime
from pathlib import Path
from typing import Annotated, Final

import msgspec

from collector.protocol import CABINET_ID_PATTERN

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
_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=r"^[^\n\r\\]+$")]
_Phone = Annotated[str, msgspec.Meta(pattern=r"^(\+?[0-9]{6,16})?$")]


class InventoryError(ValueError):
    """The inventory file cannot be used; the message names the row and column to fix."""


class Cabinet(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(pattern=CABINET_ID_PATTERN)]
    name: _Name
    site: _Name
    district: _Name
    address: str
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    access_hours: str
    guardian_name: str
    guardian_phone: _Phone
    technician_phone: _Phone
    aed_model: str
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
            try:
                cabinet = msgspec.convert({key: row[key] for key in COLUMNS}, Cabinet, strict=False)
            except msgspec.ValidationError as error:
                raise InventoryError(f"{path}:{line_number}: {error}") from error
            if cabinet.id in inventory:
                raise InventoryError(f"{path}:{line_number}: cabinet {cabinet.id} listed twice")
            inventory[cabinet.id] = cabinet
    return inventory


def write_inventory(path: Path, cabinets: list[Cabinet]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for cabinet in cabinets:
            writer.writerow(msgspec.to_builtins(cabinet))
