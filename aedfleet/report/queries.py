"""What the report asks InfluxDB: every query aggregates or filters inside InfluxDB, so what
comes back grows with the number of cabinets and of things that happened (transitions, uses,
alerts), never with the number of stored samples."""

from __future__ import annotations

import re
from typing import Any, Final

from aedfleet.influx_query import query
from aedfleet.report.readiness import CODE_EXPRESSION

Rows = list[dict[str, Any]]
GROUPS: Final = 'GROUP BY "cabinet", "district"'


def _quote(value: str) -> str:
    """An InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Queries:
    """The report's questions for one time range [start_ms, end_ms), optionally one district."""

    def __init__(self, influx_url: str, database: str, district: str | None = None) -> None:
        self.url = influx_url
        self.database = database
        self.district = f' AND "district" = {_quote(district)}' if district else ""

    def ask(self, influxql: str) -> Rows:
        return query(self.url, self.database, influxql)

    def _range(self, start_ms: int, end_ms: int) -> str:
        return f"time >= {start_ms}ms AND time < {end_ms}ms{self.district}"

    def measurements(self) -> set[str]:
        return {row["name"] for row in self.ask("SHOW MEASUREMENTS")}

    # --- readiness --------------------------------------------------------------------------

    def _codes(self, where: str) -> str:
        return (f'SELECT {CODE_EXPRESSION} AS "code" FROM "cabinet_state" WHERE {where} '
                f"{GROUPS}")  # fmt: skip

    def state_before(self, start_ms: int) -> Rows:
        """Each cabinet's state code at its last snapshot in the day before start_ms."""
        where = self._range(start_ms - 86_400_000, start_ms)
        return self.ask(f'SELECT last("code") AS "code" FROM ({self._codes(where)}) {GROUPS}')

    def first_state(self, start_ms: int, end_ms: int, cabinets: list[str] | None = None) -> Rows:
        """Each cabinet's (or the named cabinets') first snapshot in the range."""
        where = self._range(start_ms, end_ms)
        if cabinets is not None:
            names = "|".join(re.escape(c).replace("/", "\\/") for c in cabinets)
            where += f' AND "cabinet" =~ /^({names})$/'
        return self.ask(f'SELECT first("code") AS "code" FROM ({self._codes(where)}) {GROUPS}')

    def transitions(self, start_ms: int, end_ms: int) -> Rows:
        """Only the snapshots whose state differs from the cabinet's snapshot before:
        `difference` and the filter run inside InfluxDB."""
        inner = self._codes(self._range(start_ms, end_ms))
        changes = f'SELECT difference("code") AS "d" FROM ({inner}) {GROUPS}'
        return self.ask(f'SELECT "d" FROM ({changes}) WHERE "d" <> 0 {GROUPS}')

    def places(self, start_ms: int, end_ms: int) -> Rows:
        """Each cabinet's name, site and position from its last snapshot."""
        where = self._range(start_ms, end_ms)
        return self.ask(
            f'SELECT last("name") AS "name", last("lat") AS "lat", last("lon") AS "lon", '
            f'last("pad_exp") AS "pad_exp", last("batt_exp") AS "batt_exp" '
            f'FROM "cabinet_state" WHERE {where} GROUP BY "cabinet", "district", "site"'
        )

    # --- uses, alerts, notifications ----------------------------------------------------------

    def events(self, start_ms: int, end_ms: int, kinds: tuple[str, ...]) -> Rows:
        which = " OR ".join(f'"ev" = {_quote(kind)}' for kind in kinds)
        return self.ask(
            f'SELECT "seq", "ev" FROM "event" WHERE ({which}) AND {self._range(start_ms, end_ms)} '
            f"{GROUPS}"
        )

    def alert_transitions(self, start_ms: int, end_ms: int) -> Rows:
        """Every alert transition (not audit facts): a few per alert."""
        return self.ask(
            f'SELECT "since_ms", "number", "open" FROM "alert" WHERE "rule" <> \'audit\' AND '
            f'{self._range(start_ms, end_ms)} GROUP BY "cabinet", "district", "rule", "kind", '
            f'"severity"'
        )

    def alert_counts(self, start_ms: int, end_ms: int) -> Rows:
        return self.ask(
            f'SELECT count("number") AS "n" FROM "alert" WHERE "kind" = \'firing\' AND '
            f'"rule" <> \'audit\' AND {self._range(start_ms, end_ms)} GROUP BY "rule", "severity"'
        )

    def first_sms(self, start_ms: int, end_ms: int) -> Rows:
        """Sent notifications of door openings (a few per use)."""
        district = ""  # notification points carry no district tag: filtered by cabinet later
        return self.ask(
            f'SELECT "attempts" FROM "notification" WHERE "rule" = \'opened\' AND '
            f"\"outcome\" = 'sent' AND time >= {start_ms}ms AND time < {end_ms}ms{district} "
            f'GROUP BY "cabinet", "channel"'
        )

    def acknowledgements(self, start_ms: int, end_ms: int) -> Rows:
        return self.ask(
            f'SELECT "by" FROM "operator_action" WHERE "action" = \'ack\' AND '
            f'{self._range(start_ms, end_ms)} GROUP BY "cabinet", "rule"'
        )

    # --- maintenance ---------------------------------------------------------------------------

    def expiry(self, start_ms: int, end_ms: int) -> Rows:
        """Each cabinet's last reported expiry dates in the last three days of the range."""
        where = self._range(max(start_ms, end_ms - 3 * 86_400_000), end_ms)
        return self.ask(
            f'SELECT last("pad_exp") AS "pad_exp" FROM "device" WHERE {where} {GROUPS}; '
            f'SELECT last("batt_exp") AS "batt_exp" FROM "device" WHERE {where} {GROUPS}'
        )

    def battery_weeks(self, start_ms: int, end_ms: int) -> tuple[Rows, Rows]:
        """Mean backup-battery voltage of each cabinet in the first and the last week."""
        week = 7 * 86_400_000
        first = self.ask(f'SELECT mean("batt_v") AS "v" FROM "telemetry" WHERE '
                         f"{self._range(start_ms, start_ms + week)} {GROUPS}")  # fmt: skip
        last = self.ask(f'SELECT mean("batt_v") AS "v" FROM "telemetry" WHERE '
                        f"{self._range(end_ms - week, end_ms)} {GROUPS}")  # fmt: skip
        return first, last

    # --- data quality --------------------------------------------------------------------------

    def telemetry_counts(self, start_ms: int, end_ms: int) -> Rows:
        return self.ask(f'SELECT count("seq") AS "n" FROM "telemetry" WHERE '
                        f"{self._range(start_ms, end_ms)} {GROUPS}")  # fmt: skip

    def dead_letters(self, start_ms: int, end_ms: int) -> Rows:
        """By reason (dead letters carry no district: counted for the whole fleet)."""
        return self.ask(
            f'SELECT count("size") AS "n" FROM "dead_letter" WHERE time >= {start_ms}ms AND '
            f'time < {end_ms}ms GROUP BY "reason"'
        )

    def unsynced(self, start_ms: int, end_ms: int) -> Rows:
        """Cabinets that reported an unset clock (events stamped on arrival instead)."""
        return self.ask(
            f'SELECT count("seq") AS "n" FROM "event" WHERE "sync" = false AND '
            f"{self._range(start_ms, end_ms)} {GROUPS}"
        )

    # --- figures other features provide ---------------------------------------------------------

    def coverage(self, start_ms: int, end_ms: int) -> Rows:
        """COVERAGE (aedfleet/coverage/, docs/storage.md `coverage`): the weighted coverage of
        key places over the month, the mean of the fleet's (or the district's) heartbeat
        points; they come at a steady interval, so the mean is the time average."""
        scope = "'district'" if self.district else "'fleet'"
        return self.ask(
            f'SELECT mean("weighted_pct") AS "pct" FROM "coverage" WHERE "scope" = {scope} AND '
            f"{self._range(start_ms, end_ms)}"
        )

    def responders(self, start_ms: int, end_ms: int) -> Rows:
        """RESPONDERS (issue: responders alerted on an emergency opening): how many were
        alerted per opening, from the `responders` measurement once that feature lands."""
        return self.ask(
            f'SELECT "alerted" FROM "responders" WHERE {self._range(start_ms, end_ms)} '
            f'GROUP BY "cabinet"'
        )
