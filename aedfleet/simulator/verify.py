"""Whether the collector ended up with what each scenario states: the alerts raised (InfluxDB
`alert` transitions), the alerts still open (the alert store), the events stored and the
dead letters kept, cabinet by cabinet."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, NamedTuple

from aedfleet.alerts.engine import OPEN_STATES, AlertEngine
from aedfleet.alerts.settings import Settings
from aedfleet.alerts.store import AlertStore
from aedfleet.influx_query import query
from aedfleet.simulator.plan import PlannedCabinet


class Observed(NamedTuple):
    alerts: dict[str, set[str]]  # cabinet -> rules that fired
    open_alerts: dict[str, set[str]]  # cabinet -> rules open in the alert store
    events: dict[str, Counter[str]]  # cabinet -> event name -> points stored
    dead_letters: dict[str, set[str]]  # cabinet -> rejection reasons kept


class Mismatch(NamedTuple):
    cabinet: str
    scenario: str
    what: str
    expected: str
    found: str


def observe(influx_url: str, database: str, since_ms: int, state_dir: Path) -> Observed:
    def rows(statement: str) -> list[dict[str, Any]]:
        return query(influx_url, database, statement.replace("$since", f"time >= {since_ms}ms"))

    alerts: dict[str, set[str]] = defaultdict(set)
    firing = 'SELECT count("summary") FROM "alert" WHERE $since AND "kind" = \'firing\''
    for row in rows(firing + ' GROUP BY "cabinet", "rule"'):
        alerts[row["cabinet"]].add(row["rule"])
    events: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows('SELECT count("seq") FROM "event" WHERE $since GROUP BY "cabinet", "ev"'):
        events[row["cabinet"]][row["ev"]] += int(row["count"])
    dead: dict[str, set[str]] = defaultdict(set)
    for row in rows('SELECT "cabinet", "reason" FROM "dead_letter" WHERE $since'):
        dead[row["cabinet"]].add(row["reason"])
    engine = AlertEngine(Settings(), {})
    store = AlertStore(state_dir / "alerts.sqlite3")
    try:
        store.load(engine)
    finally:
        store.close()
    open_alerts: dict[str, set[str]] = defaultdict(set)
    for alert in engine.alerts.values():
        if alert.state in OPEN_STATES:
            open_alerts[alert.cabinet_id].add(alert.rule)
    return Observed(alerts, open_alerts, events, dead)


def _shown(values: set[str] | Counter[str]) -> str:
    if isinstance(values, Counter):
        return ", ".join(f"{k}={v}" for k, v in sorted(values.items())) or "none"
    return ", ".join(sorted(values)) or "none"


def mismatches(plan: list[PlannedCabinet], seen: Observed) -> list[Mismatch]:
    found = []
    for planned in plan:
        cabinet, expect = planned.cabinet.id, planned.scenario.expect
        pairs: list[tuple[str, set[str] | Counter[str], set[str] | Counter[str]]] = [
            ("alerts raised", set(expect.alerts), seen.alerts.get(cabinet, set())),
            ("alerts open at the end", set(expect.open_at_end),
             seen.open_alerts.get(cabinet, set())),
            ("events stored", Counter(expect.events), seen.events.get(cabinet, Counter())),
            ("dead letters", set(expect.dead_letters), seen.dead_letters.get(cabinet, set())),
        ]  # fmt: skip
        for what, expected, got in pairs:
            if expected != got:
                found.append(Mismatch(cabinet, planned.scenario.name, what, _shown(expected),
                                      _shown(got)))  # fmt: skip
    return found
