"""The report's figures, gathered from InfluxDB (`queries.py`) into plain data: what the
charts, the HTML and the PDF are made from. Every figure the report prints is computed here."""

from __future__ import annotations

import datetime
import statistics
from collections import Counter, defaultdict
from typing import Any, Final, NamedTuple

from aedfleet.influx_query import InfluxQLError
from aedfleet.report.period import Month
from aedfleet.report.queries import Queries, Rows
from aedfleet.report.readiness import Change, Durations, durations, per_day, ready_pct

HOUR_MS: Final = 3_600_000
AHEAD_DAYS: Final = 90  # maintenance ahead: expiring within this many days of the month's end
# rules whose open alert makes a cabinet not ready, by the cause the report names
CAUSES: Final = {"aed_missing": "aed_missing", "expired": "expired",
                 "temperature": "temperature", "power": "power"}  # fmt: skip
BATTERY_DROP_V: Final = 0.2  # a backup battery whose weekly mean fell this much is degrading
USE_EVENTS: Final = ("door_open", "aed_removed", "aed_returned", "maint_enter", "maint_exit")
REPEAT_OFFENDER: Final = 3  # alerts in the month that make a cabinet a repeat offender


class CabinetReadiness(NamedTuple):
    cabinet: str
    district: str
    name: str
    durations: Durations
    cause_ms: dict[str, int]  # cause -> not-ready time it explains

    @property
    def ready_pct(self) -> float | None:
        return ready_pct(self.durations)


class Use(NamedTuple):
    cabinet: str
    district: str
    name: str
    opened_ms: int
    out_s: int | None  # the AED out of the cabinet (None: not taken, or not yet back)
    acknowledged_ms: int | None
    ready_again_ms: int | None
    first_sms_ms: int | None
    responders: int | None  # None: the responders feature has not reported
    lat: float | None
    lon: float | None


class AlertRow(NamedTuple):
    rule: str
    severity: str
    count: int


class Expiring(NamedTuple):
    district: str
    cabinet: str
    name: str
    what: str  # "pads" or "battery"
    date: str
    days: int  # from the month's last day; negative: expired


class Summary(NamedTuple):
    readiness_pct: float | None
    cabinets: int
    uses: int
    alerts: int
    median_first_sms_s: float | None


class Report(NamedTuple):
    month: Month
    district: str | None
    summary: Summary
    previous: Summary
    coverage_pct: float | None  # None: the coverage feature's figures are not available
    day_starts: list[int]
    district_daily: dict[str, list[float | None]]  # district -> readiness % per day
    cabinets: list[CabinetReadiness]  # worst first
    uses: list[Use]
    alert_rows: list[AlertRow]
    ack_s: tuple[float | None, float | None]  # median, 90th percentile
    resolve_s: tuple[float | None, float | None]
    repeat_offenders: list[tuple[str, str, int]]  # cabinet, name, alerts
    expiring: list[Expiring]  # by district, soonest first
    degrading: list[tuple[str, str, float, float]]  # cabinet, name, first week V, last week V
    gaps: list[tuple[str, str, int, int]]  # cabinet, name, telemetry messages, fleet median
    dead_letters: list[tuple[str, int]]
    unsynced: list[tuple[str, int]]  # cabinet, events stamped on arrival (clock not set)
    unknown_hours: float  # cabinet-hours without any known state
    generated_ms: int


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


class _Fleet(NamedTuple):
    """Readiness of every cabinet over one period."""

    per_cabinet: dict[str, Durations]
    district_of: dict[str, str]
    changes: dict[str, list[Change]]
    initial: dict[str, int | None]
    known_from: dict[str, int]


def _fleet(q: Queries, start_ms: int, end_ms: int) -> _Fleet:
    district_of: dict[str, str] = {}
    initial: dict[str, int | None] = {}
    known_from: dict[str, int] = {}
    for row in q.state_before(start_ms):
        district_of[row["cabinet"]] = row["district"]
        initial[row["cabinet"]] = int(row["code"])
    first = q.first_state(start_ms, end_ms)
    for row in first:
        district_of[row["cabinet"]] = row["district"]
        if row["cabinet"] not in initial:  # unknown until its first snapshot
            initial[row["cabinet"]] = None
            known_from[row["cabinet"]] = int(row["time"])
    changes: dict[str, list[Change]] = defaultdict(list)
    codes = {c: initial[c] for c in initial}
    for cabinet, first_row in ((r["cabinet"], r) for r in first):
        if cabinet in known_from:  # the first snapshot is itself a change from unknown
            codes[cabinet] = int(first_row["code"])
            changes[cabinet].append(Change(int(first_row["time"]), int(first_row["code"])))
        elif codes[cabinet] != int(first_row["code"]):  # changed between the two days' points
            codes[cabinet] = int(first_row["code"])
            changes[cabinet].append(Change(int(first_row["time"]), int(first_row["code"])))
    for row in sorted(q.transitions(start_ms, end_ms), key=lambda r: (r["cabinet"], r["time"])):
        cabinet = row["cabinet"]
        code = (codes.get(cabinet) or 0) + int(row["d"])
        codes[cabinet] = code
        changes[cabinet].append(Change(int(row["time"]), code))
    per_cabinet = {
        cabinet: durations(start_ms, end_ms, initial[cabinet], changes.get(cabinet, []))
        for cabinet in district_of
    }
    return _Fleet(per_cabinet, district_of, dict(changes), initial, known_from)


def _summary_of(q: Queries, month: Month, end_ms: int) -> tuple[_Fleet, Summary, Rows, Rows]:
    fleet = _fleet(q, month.start_ms, end_ms)
    total = sum(fleet.per_cabinet.values(), Durations())
    counts = q.alert_counts(month.start_ms, end_ms)
    opened = q.events(month.start_ms, end_ms, USE_EVENTS)
    summary = Summary(ready_pct(total), len(fleet.per_cabinet), 0,
                      sum(int(r["n"]) for r in counts), None)  # fmt: skip
    return fleet, summary, counts, opened


def _uses(events: Rows, month: Month) -> list[tuple[str, str, int, int | None]]:
    """Emergency openings: a door opening outside a maintenance visit starts one; it lasts
    until the next opening. -> (cabinet, district, opened, AED out seconds)."""
    by_cabinet: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in events:
        by_cabinet[row["cabinet"]].append(row)
    uses = []
    for cabinet, rows in by_cabinet.items():
        rows.sort(key=lambda r: (r["time"], r["seq"]))
        maintenance = False
        current: list[Any] | None = None
        removed: int | None = None
        for row in rows:
            ev, at = row["ev"], int(row["time"])
            if ev == "maint_enter":
                maintenance = True
            elif ev == "maint_exit":
                maintenance = False
            elif ev == "door_open" and not maintenance and removed is None:
                current = [cabinet, row["district"], at, None]
                uses.append(current)
            elif ev == "aed_removed" and not maintenance:
                removed = at
                if current is None:  # taken without a door event: the removal opens it
                    current = [cabinet, row["district"], at, None]
                    uses.append(current)
            elif ev == "aed_returned" and removed is not None and current is not None:
                current[3] = (at - removed) // 1000
                removed = None
    return [tuple(u) for u in sorted(uses, key=lambda u: u[2])]  # type: ignore[misc]


def gather(q: Queries, month: Month, *, district: str | None, now_ms: int) -> Report:
    """Every figure of the report for `month` (up to now, for a month not yet over)."""
    end_ms = min(month.end_ms, now_ms)
    fleet, summary, counts, events = _summary_of(q, month, end_ms)
    previous_month = month.previous()
    _, previous, _, previous_events = _summary_of(q, previous_month, previous_month.end_ms)
    previous = previous._replace(uses=len(_uses(previous_events, previous_month)))

    places = {r["cabinet"]: r for r in q.places(month.start_ms - 86_400_000, end_ms)}

    def name(cabinet: str) -> str:
        return str(places.get(cabinet, {}).get("name") or cabinet)

    # alerts: transitions -> lifecycles
    transitions = q.alert_transitions(month.start_ms, end_ms)
    opened_at: dict[tuple[str, str, int], int] = {}
    acked_at: dict[tuple[str, str, int], int] = {}
    resolved_at: dict[tuple[str, str, int], int] = {}
    cause_intervals: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for row in transitions:
        key = (row["cabinet"], row["rule"], int(row["since_ms"]))
        at = int(row["time"])
        if row["kind"] == "firing":
            opened_at[key] = at
        elif row["kind"] == "acknowledged":
            acked_at.setdefault(key, at)
        elif row["kind"] == "resolved":
            resolved_at[key] = at
    for (cabinet, rule, since), fired in opened_at.items():
        if rule in CAUSES:
            end = resolved_at.get((cabinet, rule, since), end_ms)
            cause_intervals[cabinet].append((CAUSES[rule], max(fired, month.start_ms), end))
    ack_s = [(acked_at[k] - v) / 1000 for k, v in opened_at.items() if k in acked_at]
    resolve_s = [(resolved_at[k] - v) / 1000 for k, v in opened_at.items() if k in resolved_at]
    per_cabinet_alerts = Counter(cabinet for cabinet, _, _ in opened_at)

    cabinets = []
    for cabinet, d in fleet.per_cabinet.items():
        causes: dict[str, int] = dict.fromkeys(CAUSES.values(), 0)
        for cause, start, end in cause_intervals.get(cabinet, []):
            causes[cause] += max(0, end - start)
        cabinets.append(CabinetReadiness(cabinet, fleet.district_of[cabinet], name(cabinet), d,
                                         causes))  # fmt: skip
    cabinets.sort(key=lambda c: (c.ready_pct if c.ready_pct is not None else -1, c.cabinet))

    # daily readiness per district
    day_starts = [month.ms_of(month.first_day + datetime.timedelta(days=i))
                  for i in range(month.days)]  # fmt: skip
    day_starts = [s for s in day_starts if s < end_ms]
    daily: dict[str, list[Durations]] = {}
    for cabinet in fleet.per_cabinet:
        days = per_day(day_starts, end_ms, fleet.initial[cabinet], fleet.changes.get(cabinet, []))
        district_days = daily.setdefault(fleet.district_of[cabinet], [Durations()] * len(days))
        daily[fleet.district_of[cabinet]] = [a + b for a, b in zip(district_days, days, strict=True)]
    district_daily = {d: [ready_pct(x) for x in days] for d, days in sorted(daily.items())}

    # uses
    sms = sorted((r["cabinet"], int(r["time"])) for r in q.first_sms(month.start_ms, end_ms))
    acks = defaultdict(list)
    for row in q.acknowledgements(month.start_ms, end_ms):
        acks[row["cabinet"]].append(int(row["time"]))
    for (cabinet, rule, _), at in acked_at.items():
        if rule == "opened":
            acks[cabinet].append(at)
    responders = _responders(q, month.start_ms, end_ms)
    uses = []
    for cabinet, district_name, at, out_s in _uses(events, month):
        first = next((t for c, t in sms if c == cabinet and t >= at), None)
        acked = min((t for t in acks[cabinet] if t >= at), default=None)
        ready = next((c.at_ms for c in fleet.changes.get(cabinet, [])
                      if c.at_ms > at and c.code == 1), None)  # fmt: skip
        place = places.get(cabinet, {})
        uses.append(Use(cabinet, district_name, name(cabinet), at, out_s, acked, ready, first,
                        responders.get((cabinet, at)) if responders is not None else None,
                        place.get("lat"), place.get("lon")))  # fmt: skip
    sms_delays = [(u.first_sms_ms - u.opened_ms) / 1000 for u in uses if u.first_sms_ms]
    summary = summary._replace(uses=len(uses), median_first_sms_s=_median(sms_delays))

    # maintenance ahead
    expiry_rows = q.expiry(month.start_ms, end_ms)
    expiring = []
    for row in expiry_rows:
        for what, field in (("pads", "pad_exp"), ("battery", "batt_exp")):
            if row.get(field):
                date = datetime.date.fromisoformat(row[field])
                days = (date - month.last_day).days
                if days <= AHEAD_DAYS:
                    expiring.append(Expiring(row["district"], row["cabinet"],
                                             name(row["cabinet"]), what, row[field], days))  # fmt: skip
    expiring.sort(key=lambda e: (e.district, e.days, e.cabinet))
    first_week, last_week = q.battery_weeks(month.start_ms, end_ms)
    early = {r["cabinet"]: float(r["v"]) for r in first_week if r.get("v") is not None}
    degrading = sorted(
        ((r["cabinet"], name(r["cabinet"]), early[r["cabinet"]], float(r["v"]))
         for r in last_week if r.get("v") is not None and r["cabinet"] in early
         and early[r["cabinet"]] - float(r["v"]) >= BATTERY_DROP_V),
        key=lambda x: x[3] - x[2],
    )  # fmt: skip

    # data quality
    counts_by = {r["cabinet"]: int(r["n"]) for r in q.telemetry_counts(month.start_ms, end_ms)}
    median_count = int(statistics.median(counts_by.values())) if counts_by else 0
    gaps = sorted(
        ((c, name(c), counts_by.get(c, 0), median_count) for c in fleet.per_cabinet
         if counts_by.get(c, 0) < 0.9 * median_count),
        key=lambda g: g[2],
    )  # fmt: skip
    dead = sorted(((r["reason"], int(r["n"])) for r in q.dead_letters(month.start_ms, end_ms)),
                  key=lambda x: -x[1])  # fmt: skip
    unsynced = sorted(((r["cabinet"], int(r["n"])) for r in q.unsynced(month.start_ms, end_ms)),
                      key=lambda x: -x[1])  # fmt: skip
    total = sum(fleet.per_cabinet.values(), Durations())

    return Report(
        month=month, district=district, summary=summary, previous=previous,
        coverage_pct=_coverage(q, month.start_ms, end_ms),
        day_starts=day_starts, district_daily=district_daily, cabinets=cabinets, uses=uses,
        alert_rows=sorted((AlertRow(r["rule"], r["severity"], int(r["n"])) for r in counts),
                          key=lambda a: -a.count),
        ack_s=(_median(ack_s), _percentile(ack_s, 0.9)),
        resolve_s=(_median(resolve_s), _percentile(resolve_s, 0.9)),
        repeat_offenders=sorted(((c, name(c), n) for c, n in per_cabinet_alerts.items()
                                 if n >= REPEAT_OFFENDER), key=lambda x: -x[2]),
        expiring=expiring, degrading=degrading, gaps=gaps, dead_letters=dead,
        unsynced=unsynced, unknown_hours=total.unknown / HOUR_MS, generated_ms=now_ms,
    )  # fmt: skip


def _coverage(q: Queries, start_ms: int, end_ms: int) -> float | None:
    """COVERAGE: the weighted coverage of key places, when the coverage feature (being built
    in aedfleet/coverage/) has written its `coverage` measurement; None ("not available")
    otherwise."""
    if "coverage" not in q.measurements():
        return None
    try:
        rows = q.coverage(start_ms, end_ms)
    except InfluxQLError:
        return None
    return float(rows[0]["pct"]) if rows and rows[0].get("pct") is not None else None


def _responders(q: Queries, start_ms: int, end_ms: int) -> dict[tuple[str, int], int] | None:
    """RESPONDERS: how many responders were alerted for each opening, once the responders
    feature writes its `responders` measurement; None ("not available") until then."""
    if "responders" not in q.measurements():
        return None
    try:
        rows = q.responders(start_ms, end_ms)
    except InfluxQLError:
        return None
    return {(r["cabinet"], int(r["time"])): int(r["alerted"]) for r in rows if r.get("alerted")}
