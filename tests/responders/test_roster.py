"""The responders file: validated like the inventory, rows without consent refused, a mode
more open than 0600 refused, numbers masked; errors name the line, never the person."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from aedfleet.notify.dispatcher import masked
from aedfleet.responders.roster import COLUMNS, RosterError, load_roster

HEADER = ",".join(COLUMNS) + ",quiet_hours"
GOOD = ("r1,Wang Fang,+8613812345468,BZ-2024-0001,2027-06-30,37.38,118.0,"
        "Mo-Fr 08:00-18:00,2025-03-01,zh,22:00-07:00")  # fmt: skip


def write(tmp_path: Path, *rows: str, mode: int = 0o600) -> Path:
    path = tmp_path / "responders.csv"
    path.write_text("\n".join((HEADER, *rows)) + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


def test_a_good_row_is_read(tmp_path: Path) -> None:
    (one,) = load_roster(write(tmp_path, GOOD))
    assert one.phone == "+8613812345468"
    assert one.certificate_expiry == datetime.date(2027, 6, 30)
    assert one.quiet is not None
    assert not one.available.always


def test_a_row_without_consent_is_refused(tmp_path: Path) -> None:
    row = GOOD.replace("2025-03-01", "")
    with pytest.raises(RosterError, match=r"responders.csv:3: no consent_date"):
        load_roster(write(tmp_path, GOOD.replace("r1,", "r0,"), row))


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_file_others_may_read_is_refused(tmp_path: Path, mode: int) -> None:
    with pytest.raises(RosterError, match="chmod 600"):
        load_roster(write(tmp_path, GOOD, mode=mode))


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("+8613812345468", "13812345468", "phone"),
        ("2027-06-30", "2027-13-30", "certificate_expiry"),
        ("37.38", "97.38", "lat"),
        ("Mo-Fr 08:00-18:00", "Mo-Fr 8-18", "available"),
        (",zh,", ",fr,", "language"),
        ("Wang Fang", "Wang\u202eFang", "name"),
    ],
)
def test_bad_rows_name_the_line_not_the_person(
    tmp_path: Path, old: str, new: str, why: str
) -> None:
    with pytest.raises(RosterError, match=why) as caught:
        load_roster(write(tmp_path, GOOD.replace(old, new)))
    assert "responders.csv:2" in str(caught.value)
    assert "Wang" not in str(caught.value) and "12345468" not in str(caught.value)


def test_an_id_listed_twice(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="listed twice"):
        load_roster(write(tmp_path, GOOD, GOOD))


def test_numbers_are_masked_as_every_sms_recipient_is() -> None:
    assert masked("+8613812345468") == "+86138****5468"
