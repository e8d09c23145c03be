"""A cabinet's `access_hours`: the subset of OpenStreetMap's `opening_hours` that a cabinet's
owner writes (docs/coverage.md gives the grammar). What this subset cannot express is refused,
never guessed: a cabinet wrongly taken as reachable at 03:00 is a place wrongly taken as safe.
"""

from __future__ import annotations

import bisect
import datetime
import re
from dataclasses import dataclass
from typing import Final

DAYS: Final = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
DAY_MIN: Final = 24 * 60
WEEK_MIN: Final = 7 * DAY_MIN
_TIME: Final = r"(\d{2}):(\d{2})"
_SPAN: Final = re.compile(rf"{_TIME}-{_TIME}")
_DAY_RANGE: Final = re.compile(r"([A-Z][a-z])(?:-([A-Z][a-z]))?")


class HoursError(ValueError):
    """`access_hours` says something the parser does not understand; the message says what."""


@dataclass(frozen=True)
class AccessHours:
    """When a cabinet can be reached: disjoint [start, end) minutes of the week from Monday
    00:00 local time, in order."""

    text: str
    intervals: tuple[tuple[int, int], ...]

    @property
    def always(self) -> bool:
        return self.intervals == ((0, WEEK_MIN),)

    def is_open(self, local: datetime.datetime) -> bool:
        return self._open_at(_week_minute(local))

    def _open_at(self, minute: int) -> bool:
        index = bisect.bisect_right(self.intervals, (minute, WEEK_MIN)) - 1
        return index >= 0 and self.intervals[index][0] <= minute < self.intervals[index][1]

    def next_change(self, local: datetime.datetime) -> datetime.datetime | None:
        """The first local minute after `local` at which `is_open` flips; None if it never does."""
        edges = sorted(
            edge
            for edge in {edge % WEEK_MIN for span in self.intervals for edge in span}
            if self._open_at(edge) != self._open_at((edge - 1) % WEEK_MIN)
        )
        if not edges:
            return None
        minute = _week_minute(local)
        later = [edge for edge in edges if edge > minute]
        step = (later[0] if later else edges[0] + WEEK_MIN) - minute
        start_of_minute = local.replace(second=0, microsecond=0)
        return start_of_minute + datetime.timedelta(minutes=step)


def parse_hours(text: str) -> AccessHours:
    """`24/7`, or rules separated by `;`: optional days (`Mo-Fr`, `Sa,Su`), then `off` or
    time spans (`08:00-12:00,14:00-18:00`); a later rule replaces the earlier ones on the days
    it names; a span ending at or before its start runs past midnight into the next day."""
    source = text.strip()
    if source == "24/7":
        return AccessHours(text, ((0, WEEK_MIN),))
    if not source:
        raise HoursError("access_hours is empty: write 24/7 for a cabinet that is always open")
    by_day: dict[int, list[tuple[int, int]]] = {day: [] for day in range(7)}
    for rule in source.split(";"):
        days, spans = _rule(rule.strip(), source)
        for day in days:
            by_day[day] = spans
    week = [
        (day * DAY_MIN + start, day * DAY_MIN + end)
        for day, spans in by_day.items()
        for start, end in spans
    ]
    return AccessHours(text, _merged(week))


def _rule(rule: str, source: str) -> tuple[list[int], list[tuple[int, int]]]:
    if not rule:
        raise HoursError(f"{source!r}: an empty rule between semicolons")
    selector, _, times = rule.rpartition(" ")
    days = _days(selector.strip(), source) if selector else list(range(7))
    if times == "off":
        return days, []
    return days, [_span(span, source) for span in times.split(",")]


def _days(selector: str, source: str) -> list[int]:
    days: list[int] = []
    for part in selector.split(","):
        match = _DAY_RANGE.fullmatch(part.strip())
        if match is None or match[1] not in DAYS or (match[2] and match[2] not in DAYS):
            raise HoursError(f"{source!r}: {part.strip()!r} is not a day (Mo Tu We Th Fr Sa Su) "
                             "or a range of days such as Mo-Fr")  # fmt: skip
        first = DAYS.index(match[1])
        last = DAYS.index(match[2]) if match[2] else first
        days.extend((first + step) % 7 for step in range((last - first) % 7 + 1))
    return days


def _span(span: str, source: str) -> tuple[int, int]:
    match = _SPAN.fullmatch(span.strip())
    if match is None:
        raise HoursError(f"{source!r}: {span.strip()!r} is not a time span such as 08:00-20:00")
    start_h, start_m, end_h, end_m = (int(group) for group in match.groups())
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start_m > 59 or end_m > 59 or start >= DAY_MIN or end > DAY_MIN:
        raise HoursError(f"{source!r}: {span.strip()!r} is not a time of day (00:00 to 24:00)")
    if end == start:
        raise HoursError(f"{source!r}: {span.strip()!r} starts and ends at the same minute")
    return (start, end if end > start else end + DAY_MIN)


def _merged(week: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Folds spans past Sunday midnight back to Monday and joins what touches or overlaps."""
    folded: list[tuple[int, int]] = []
    for start, end in week:
        if end > WEEK_MIN:
            folded += [(start, WEEK_MIN), (0, end - WEEK_MIN)]
        else:
            folded.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(folded):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _week_minute(local: datetime.datetime) -> int:
    return local.weekday() * DAY_MIN + local.hour * 60 + local.minute
