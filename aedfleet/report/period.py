"""The month a report covers, in the fleet's local time (China Standard Time by default), as
milliseconds since 1970: what every query's time range and every daily figure count from."""

from __future__ import annotations

import datetime
import re
from typing import NamedTuple

DAY_MS = 86_400_000


class Month(NamedTuple):
    year: int
    month: int
    utc_offset_minutes: int = 480

    @classmethod
    def parse(cls, text: str, utc_offset_minutes: int = 480) -> Month:
        """'2026-11' -> Month(2026, 11)."""
        match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
        if match is None or not 1 <= int(match[2]) <= 12:
            raise ValueError(f"{text!r} is not a month like 2026-11")
        return cls(int(match[1]), int(match[2]), utc_offset_minutes)

    @property
    def zone(self) -> datetime.timezone:
        return datetime.timezone(datetime.timedelta(minutes=self.utc_offset_minutes))

    @property
    def first_day(self) -> datetime.date:
        return datetime.date(self.year, self.month, 1)

    @property
    def days(self) -> int:
        return (self.next().first_day - self.first_day).days

    def ms_of(self, day: datetime.date) -> int:
        """Local midnight at the start of `day`, in ms since 1970."""
        midnight = datetime.datetime(day.year, day.month, day.day, tzinfo=self.zone)
        return int(midnight.timestamp() * 1000)

    @property
    def start_ms(self) -> int:
        return self.ms_of(self.first_day)

    @property
    def end_ms(self) -> int:
        return self.next().start_ms

    @property
    def last_day(self) -> datetime.date:
        return self.next().first_day - datetime.timedelta(days=1)

    def next(self) -> Month:
        year, month = divmod(self.year * 12 + self.month, 12)
        return Month(year, month + 1, self.utc_offset_minutes)

    def previous(self) -> Month:
        year, month = divmod(self.year * 12 + self.month - 2, 12)
        return Month(year, month + 1, self.utc_offset_minutes)

    def local(self, ms: int) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(ms / 1000, self.zone)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
