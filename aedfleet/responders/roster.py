"""The responders file: one CSV row per certified first-aider who consented to be texted,
validated like the cabinet inventory (a bad row stops start-up and names its line). It holds
names, phones and positions: the file must be readable by its owner only (0600), and nothing
read from it but counts, distances and masked numbers ever leaves the collector's memory."""

from __future__ import annotations

import csv
import datetime
import functools
import stat
from pathlib import Path
from typing import Annotated, Final, Literal

import msgspec

from aedfleet.collector.inventory import text_problem
from aedfleet.coverage.hours import AccessHours, HoursError, parse_hours

COLUMNS: Final = ("id", "name", "phone", "certificate_no", "certificate_expiry", "lat", "lon",
                  "available", "consent_date", "language")  # fmt: skip
OPTIONAL: Final = ("quiet_hours",)
# most responders share a few hours texts: each parsed once (AccessHours is immutable)
_hours = functools.lru_cache(maxsize=4096)(parse_hours)
_Text = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]


class RosterError(ValueError):
    """The responders file cannot be used; the message names the line and what to fix (never
    the person)."""


class Row(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
    name: _Text
    phone: Annotated[str, msgspec.Meta(pattern=r"^\+[0-9]{8,15}$")]  # E.164
    certificate_no: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_/-]{1,40}$")]
    certificate_expiry: datetime.date
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    available: Annotated[str, msgspec.Meta(max_length=120)]
    consent_date: datetime.date
    language: Literal["zh", "en"]
    quiet_hours: Annotated[str, msgspec.Meta(max_length=120)] = ""


class Responder(msgspec.Struct, frozen=True):
    """One responder as the selection reads it: hours parsed once, at load."""

    id: str
    name: str
    phone: str
    certificate_expiry: datetime.date
    lat: float
    lon: float
    available: AccessHours
    quiet: AccessHours | None  # None: no quiet hours
    language: str


def check_mode(path: Path) -> None:
    """Refuse a responders file that anyone but its owner may read or write."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise RosterError(f"{path}: mode {mode:04o} lets others read personal data; "
                          f"run chmod 600 {path}")  # fmt: skip


def load_roster(path: Path) -> list[Responder]:
    check_mode(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        missing = set(COLUMNS) - set(header)
        if missing:
            raise RosterError(f"{path}: missing columns {sorted(missing)}")
        wanted = [(n, column) for n, column in enumerate(header) if column in COLUMNS + OPTIONAL]
        responders: list[Responder] = []
        seen: set[str] = set()
        for line_number, values in enumerate(reader, start=2):
            try:
                if len(values) > len(header):
                    raise RosterError("more values than columns")
                responder = _responder({column: values[n] for n, column in wanted
                                        if n < len(values) and values[n]})  # fmt: skip
            except RosterError as error:
                raise RosterError(f"{path}:{line_number}: {error}") from None
            if responder.id in seen:
                raise RosterError(f"{path}:{line_number}: id listed twice")
            seen.add(responder.id)
            responders.append(responder)
    return responders


def _responder(fields: dict[str, str]) -> Responder:
    """One row's non-empty values by column."""
    if not fields.get("consent_date", "").strip():
        raise RosterError("no consent_date: a responder is texted only with recorded consent")
    name = fields.get("name", "")
    # printable text holds no control, invisible or bidirectional character: the fast path
    problem = None if name.isprintable() and "\\" not in name else text_problem(name)
    if problem:
        raise RosterError(f"name {problem}")
    try:
        parsed = msgspec.convert(fields, Row, strict=False)
    except msgspec.ValidationError as error:
        # msgspec names the field (`$.phone`), never the value
        raise RosterError(str(error)) from None
    try:
        available = _hours(parsed.available)
        quiet = _hours(parsed.quiet_hours) if parsed.quiet_hours else None
    except HoursError as error:
        raise RosterError(f"available or quiet_hours: {error}") from None
    return Responder(parsed.id, parsed.name, parsed.phone, parsed.certificate_expiry,
                     parsed.lat, parsed.lon, available, quiet, parsed.language)  # fmt: skip
