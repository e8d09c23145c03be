"""Time-weighted readiness from readiness transitions (pure).

The collector writes a `readiness_change` point for a cabinet only when its readiness state or
reason changes, and one for every cabinet at its start (aedfleet/alerts/readiness_change.py).
Between two changes the state holds, so the time in each state is a sum of intervals, exact to
the changes' timestamps: no sampling."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, NamedTuple

from aedfleet.alerts.readiness_change import CODES

STATES: Final = {code: state for state, code in CODES.items()}


class Change(NamedTuple):
    at_ms: int
    code: int  # the state from here on (readiness_change.CODES)


class Durations(NamedTuple):
    """Milliseconds one cabinet spent in each state within [start, end); `unknown` is time
    before its first known state (not yet installed, or no data)."""

    available: int = 0
    offline: int = 0
    in_use: int = 0
    not_ready: int = 0
    unknown: int = 0

    @property
    def known(self) -> int:
        return self.available + self.offline + self.in_use + self.not_ready

    def __add__(self, other: object) -> Durations:
        if not isinstance(other, Durations):
            return NotImplemented
        return Durations(*(a + b for a, b in zip(self, other, strict=True)))


def durations(
    start_ms: int, end_ms: int, initial: int | None, changes: Iterable[Change]
) -> Durations:
    """Time in each state over [start_ms, end_ms): `initial` is the state at start_ms (None
    when unknown), `changes` the transitions in time order."""
    totals = dict.fromkeys(Durations._fields, 0)
    state, since = (
        (STATES.get(initial, "not_ready") if initial is not None else "unknown"),
        start_ms,
    )
    for change in changes:
        at = min(max(change.at_ms, start_ms), end_ms)
        totals[state] += at - since
        state, since = STATES.get(change.code, "not_ready"), at
    totals[state] += end_ms - since
    return Durations(**totals)


def per_day(day_starts: list[int], end_ms: int, initial: int | None,
            changes: list[Change]) -> list[Durations]:  # fmt: skip
    """The same, for each day (its start in `day_starts`, the last one ending at end_ms)."""
    result = []
    bounds = [*day_starts[1:], end_ms]
    state, index = initial, 0
    for start, end in zip(day_starts, bounds, strict=True):
        inside = []
        while index < len(changes) and changes[index].at_ms < end:
            if changes[index].at_ms < start:
                state = changes[index].code
            else:
                inside.append(changes[index])
            index += 1
        result.append(durations(start, end, state, inside))
        if inside:
            state = inside[-1].code
    return result


def ready_pct(d: Durations) -> float | None:
    """Available time as a percentage of the time the state was known."""
    return 100.0 * d.available / d.known if d.known else None
