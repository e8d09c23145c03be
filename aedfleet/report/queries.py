"""What the report asks InfluxDB: every query aggregates or filters inside InfluxDB, so what
comes back grows with the number of cabinets and of things that happened (transitions, uses,
alerts), never with the number of stored samples."""

from __future__ import annotations

from typing import Any, Final

from aedfleet.alerts.readiness_change import MEASUREMENT as CHANGES
from aedfleet.influx_query import query

Rows = list[dict[str, Any]]
GROUPS: Final = 'GROUP BY "cabinet", "district"'
# how far back a cabinet's state before a period is looked for: the raw retention (396 days)
LOOKBACK_MS: Final = 396 * 86_400_000


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

    def state_before(self, start_ms: int) -> Rows:
        """Each cabinet's readiness code at its last change before start_ms: the collector
        writes one for every cabinet at its start, so a cabinet has one unless it is new."""
        where = f"time >= {start_ms - LOOKBACK_MS}ms AND time < {start_ms}ms{self.district}"
        return self.ask(f'SELECT last("code") AS "code" FROM "{CHANGES}" WHERE {where} {GROUPS}')

    def transitions(self, start_ms: int, end_ms: int) -> Rows:
        """Every readiness change in the range: a few points per cabinet and month."""
        return self.ask(
            f'SELECT "code" FROM "{CHANGES}" WHERE {self._range(start_ms, end_ms)} {GROUPS}'
        )

    def places(self, end_ms: int) -> Rows:
        """Each cabinet's name and position, from its last readiness change before end_ms."""
        where = f"time >= {end_ms - LOOKBACK_MS}ms AND time < {end_ms}ms{self.district}"
        return self.ask(
            f'SELECT last("name") AS "name", last("lat") AS "lat", last("lon") AS "lon" '
            f'FROM "{CHANGES}" WHERE {where} GROUP BY "cabinet", "district", "site"'
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
