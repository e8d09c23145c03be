"""Issue 14, item 10: an inventory row that would put control or bidirectional characters, or
an essay, into an SMS is refused with its row number."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from aedfleet.collector.inventory import COLUMNS, InventoryError, load_inventory

ROW = {"id": "bz-bc-001", "name": "People's Hospital", "site": "Main gate",
       "district": "Bincheng", "address": "1 Test Road", "lat": "37.38", "lon": "117.97",
       "access_hours": "24/7", "guardian_name": "Li", "guardian_phone": "+8613800000000",
       "technician_phone": "+8613900000000", "aed_model": "Test AED",
       "install_date": "2025-01-01"}  # fmt: skip


def write(path: Path, **changes: str) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerow({**ROW, "id": "bz-bc-002"})
        writer.writerow({**ROW, **changes})
    return path


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("name", "Hospital\u202e.deen noitca on ,RAELC LLA", "U+202E"),
        ("address", "1 Road\nALL CLEAR, no action needed. Call", "U+000A"),
        ("address", "1 Road\u2066hidden\u2069", "U+2066"),
        ("guardian_name", "Li\x1b[2J", "U+001B"),
        ("access_hours", "24/7\u200b", "U+200B"),
        ("aed_model", "model\\x", "backslash"),
        ("address", "x" * 201, "<= 200"),
        ("guardian_name", "x" * 61, "<= 60"),
    ],
)
def test_a_crafted_row_is_refused_with_its_row_number(
    tmp_path: Path, column: str, value: str, reason: str
) -> None:
    path = write(tmp_path / "inventory.csv", **{column: value})
    with pytest.raises(InventoryError, match=r"inventory.csv:3: ") as error:
        load_inventory(path)
    assert reason in str(error.value) and column in str(error.value)


def test_chinese_text_and_ordinary_punctuation_pass(tmp_path: Path) -> None:
    path = write(
        tmp_path / "inventory.csv", name="滨城区人民医院 (东门)", address="黄河五路 1 号, 2F"
    )
    assert load_inventory(path)["bz-bc-001"].name == "滨城区人民医院 (东门)"
