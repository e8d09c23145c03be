"""The report's figures, gathered from InfluxDB (`queries.py`) into plain data: what the
charts, the HTML and the PDF are made from. Every figure the report prints is computed here."""

from __future__ import annotations

import datetime
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
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
    raised: int


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
    positions: dict[str, tuple[float, float]]  # cabinet -> (lat, lon), for the map
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


def _fleet(q: Queries, start_ms: int, end_ms: int) -> _Fleet:
    """Every cabinet's time in each state over [start_ms, end_ms), from its readiness changes:
    its state at the last change before the range, then each change in it (a cabinet first
    heard from in the range is unknown until its first)."""
    district_of: dict[str, str] = {}
    initial: dict[str, int | None] = {}
    for row in q.state_before(start_ms):
        district_of[row["cabinet"]] = row["district"]
        initial[row["cabinet"]] = int(row["code"])
    changes: dict[str, list[Change]] = defaultdict(list)
    for row in sorted(q.transitions(start_ms, end_ms), key=lambda r: (r["cabinet"], r["time"])):
        cabinet = row["cabinet"]
        district_of[cabinet] = row["district"]
        initial.setdefault(cabinet, None)
        changes[cabinet].append(Change(int(row["time"]), int(row["code"])))
    per_cabinet = {
        cabinet: durations(start_ms, end_ms, initial[cabinet], changes.get(cabinet, []))
        for cabinet in district_of
    }
    return _Fleet(per_cabinet, district_of, dict(changes), initial)


def _summary_of(q: Queries, month: Month, end_ms: int) -> tuple[_Fleet, Summary, Rows, Rows]:
    fleet = _fleet(q, month.start_ms, end_ms)
    total = sum(fleet.per_cabinet.values(), Durations())
    counts = q.alert_counts(month.start_ms, end_ms)
    opened = q.events(month.start_ms, end_ms, USE_EVENTS)
    summary = Summary(ready_pct(total), len(fleet.per_cabinet), 0,
                      sum(int(r["n"]) for r in counts), None)  # fmt: skip
    return fleet, summary, counts, opened


def _uses(events: Rows) -> list[tuple[str, str, int, int | None]]:
    """Emergency openings: a door opening outside a maintenance visit starts one; it lasts
    until the next opening. -> (cabinet, district, opened, AED out seconds)."""
    by_cabinet: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in events:
        by_cabinet[row["cabinet"]].append(row)
    uses = []
    for cabinet, rows in by_cabinet.items():
        rows.sort(key=lambda r: (r["time"], r["seq"]))
        maintenance = False
        current: list[Any] | None = None  # cabinet, district, opened, out seconds
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
    return [(u[0], u[1], u[2], u[3]) for u in sorted(uses, key=lambda u: u[2])]


class _Alerts(NamedTuple):
    """Alert lifecycles: (cabinet, rule, since) -> when it fired, was acknowledged, resolved."""

    fired: dict[tuple[str, str, int], int]
    acked: dict[tuple[str, str, int], int]
    resolved: dict[tuple[str, str, int], int]


def _alerts(rows: Rows) -> _Alerts:
    alerts = _Alerts({}, {}, {})
    for row in rows:
        key = (row["cabinet"], row["rule"], int(row["since_ms"]))
        at = int(row["time"])
        if row["kind"] == "firing":
            alerts.fired[key] = at
        elif row["kind"] == "acknowledged":
            alerts.acked.setdefault(key, at)
        elif row["kind"] == "resolved":
            alerts.resolved[key] = at
    return alerts


def _cabinet_rows(fleet: _Fleet, alerts: _Alerts, start_ms: int, end_ms: int,
                  name: Callable[[str], str]) -> list[CabinetReadiness]:  # fmt: skip
    """Each cabinet's readiness, and the not-ready time each cause's alerts explain."""
    causes: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CAUSES.values(), 0))
    for (cabinet, rule, since), fired in alerts.fired.items():
        if rule in CAUSES:
            resolved = alerts.resolved.get((cabinet, rule, since), end_ms)
            causes[cabinet][CAUSES[rule]] += max(0, resolved - max(fired, start_ms))
    rows = [
        CabinetReadiness(cabinet, fleet.district_of[cabinet], name(cabinet), d, causes[cabinet])
        for cabinet, d in fleet.per_cabinet.items()
    ]
    return sorted(rows, key=lambda c: (c.ready_pct if c.ready_pct is not None else -1, c.cabinet))


def _daily(fleet: _Fleet, day_starts: list[int], end_ms: int) -> dict[str, list[float | None]]:
    """District -> its cabinets' time-weighted readiness % each day."""
    daily: dict[str, list[Durations]] = {}
    for cabinet in fleet.per_cabinet:
        days = per_day(day_starts, end_ms, fleet.initial[cabinet], fleet.changes.get(cabinet, []))
        district = fleet.district_of[cabinet]
        so_far = daily.get(district, [Durations()] * len(days))
        daily[district] = [a + b for a, b in zip(so_far, days, strict=True)]
    return {d: [ready_pct(x) for x in days] for d, days in sorted(daily.items())}


def _use_rows(q: Queries, month: Month, end_ms: int, events: Rows, fleet: _Fleet,
              alerts: _Alerts, places: dict[str, dict[str, Any]]) -> list[Use]:  # fmt: skip
    sms = sorted((r["cabinet"], int(r["time"])) for r in q.first_sms(month.start_ms, end_ms))
    acks: dict[str, list[int]] = defaultdict(list)
    for row in q.acknowledgements(month.start_ms, end_ms):
        acks[row["cabinet"]].append(int(row["time"]))
    for (cabinet, rule, _), at in alerts.acked.items():
        if rule == "opened":
            acks[cabinet].append(at)
    responders = _responders(q, month.start_ms, end_ms)
    uses = []
    for cabinet, district, at, out_s in _uses(events):
        place = places.get(cabinet, {})
        uses.append(Use(
            cabinet, district, str(place.get("name") or cabinet), at, out_s,
            min((t for t in acks[cabinet] if t >= at), default=None),
            next((c.at_ms for c in fleet.changes.get(cabinet, []) if c.at_ms > at and c.code == 1),
                 None),
            next((t for c, t in sms if c == cabinet and t >= at), None),
            responders.get((cabinet, at)) if responders is not None else None,
            place.get("lat"), place.get("lon"),
        ))  # fmt: skip
    return uses


def _expiring(q: Queries, month: Month, end_ms: int, name: Callable[[str], str]) -> list[Expiring]:
    """Pads and AED batteries expiring within AHEAD_DAYS of the month's last day (or expired),
    by district for the technicians' routes."""
    expiring = []
    for row in q.expiry(month.start_ms, end_ms):
        for what, field in (("pads", "pad_exp"), ("battery", "batt_exp")):
            if not row.get(field):
                continue
            days = (datetime.date.fromisoformat(row[field]) - month.last_day).days
            if days <= AHEAD_DAYS:
                expiring.append(Expiring(row["district"], row["cabinet"], name(row["cabinet"]),
                                         what, row[field], days))  # fmt: skip
    return sorted(expiring, key=lambda e: (e.district, e.days, e.cabinet))


def _degrading(q: Queries, month: Month, end_ms: int,
               name: Callable[[str], str]) -> list[tuple[str, str, float, float]]:  # fmt: skip
    first_week, last_week = q.battery_weeks(month.start_ms, end_ms)
    early = {r["cabinet"]: float(r["v"]) for r in first_week if r.get("v") is not None}
    late = {r["cabinet"]: float(r["v"]) for r in last_week if r.get("v") is not None}
    return sorted(
        ((c, name(c), early[c], v) for c, v in late.items()
         if c in early and early[c] - v >= BATTERY_DROP_V),
        key=lambda x: x[3] - x[2],
    )  # fmt: skip


def _gaps(q: Queries, fleet: _Fleet, start_ms: int, end_ms: int,
          name: Callable[[str], str]) -> list[tuple[str, str, int, int]]:  # fmt: skip
    """Cabinets that sent under 90 % of the fleet's median count of telemetry messages."""
    counts = {r["cabinet"]: int(r["n"]) for r in q.telemetry_counts(start_ms, end_ms)}
    median = int(statistics.median(counts.values())) if counts else 0
    return sorted(
        ((c, name(c), counts.get(c, 0), median) for c in fleet.per_cabinet
         if counts.get(c, 0) < 0.9 * median),
        key=lambda g: g[2],
    )  # fmt: skip


def gather(q: Queries, month: Month, *, district: str | None, now_ms: int) -> Report:
    """Every figure of the report for `month` (up to now, for a month not yet over)."""
    end_ms = min(month.end_ms, now_ms)
    # the cabinets' names and places from their last readiness change
    places = {r["cabinet"]: r for r in q.places(end_ms)}
    fleet, summary, counts, events = _summary_of(q, month, end_ms)
    before = month.previous()
    _, previous, _, previous_events = _summary_of(q, before, before.end_ms)
    previous = previous._replace(uses=len(_uses(previous_events)))

    def name(cabinet: str) -> str:
        return str(places.get(cabinet, {}).get("name") or cabinet)

    alerts = _alerts(q.alert_transitions(month.start_ms, end_ms))
    ack_s = [(alerts.acked[k] - v) / 1000 for k, v in alerts.fired.items() if k in alerts.acked]
    resolve_s = [(alerts.resolved[k] - v) / 1000 for k, v in alerts.fired.items()
                 if k in alerts.resolved]  # fmt: skip
    per_cabinet_alerts = Counter(cabinet for cabinet, _, _ in alerts.fired)
    day_starts = [month.ms_of(month.first_day + datetime.timedelta(days=i))
                  for i in range(month.days)]  # fmt: skip
    day_starts = [s for s in day_starts if s < end_ms]
    uses = _use_rows(q, month, end_ms, events, fleet, alerts, places)
    sms_delays = [(u.first_sms_ms - u.opened_ms) / 1000 for u in uses if u.first_sms_ms]
    summary = summary._replace(uses=len(uses), median_first_sms_s=_median(sms_delays))
    total = sum(fleet.per_cabinet.values(), Durations())
    return Report(
        month=month, district=district, summary=summary, previous=previous,
        coverage_pct=_coverage(q, month.start_ms, end_ms),
        day_starts=day_starts, district_daily=_daily(fleet, day_starts, end_ms),
        cabinets=_cabinet_rows(fleet, alerts, month.start_ms, end_ms, name), uses=uses,
        alert_rows=sorted((AlertRow(r["rule"], r["severity"], int(r["n"])) for r in counts),
                          key=lambda a: -a.raised),
        ack_s=(_median(ack_s), _percentile(ack_s, 0.9)),
        resolve_s=(_median(resolve_s), _percentile(resolve_s, 0.9)),
        repeat_offenders=sorted(((c, name(c), n) for c, n in per_cabinet_alerts.items()
                                 if n >= REPEAT_OFFENDER), key=lambda x: -x[2]),
        expiring=_expiring(q, month, end_ms, name),
        degrading=_degrading(q, month, end_ms, name),
        gaps=_gaps(q, fleet, month.start_ms, end_ms, name),
        dead_letters=sorted(((r["reason"], int(r["n"]))
                             for r in q.dead_letters(month.start_ms, end_ms)),
                            key=lambda x: -x[1]),
        unsynced=sorted(((r["cabinet"], int(r["n"]))
                         for r in q.unsynced(month.start_ms, end_ms)), key=lambda x: -x[1]),
        unknown_hours=total.unknown / HOUR_MS, generated_ms=now_ms,
        positions={c: (float(p["lat"]), float(p["lon"])) for c, p in places.items()
                   if p.get("lat") is not None and p.get("lon") is not None},
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
