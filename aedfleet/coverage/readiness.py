"""Each cabinet's readiness at a moment, from the `cabinet_state` points the collector writes
(docs/storage.md)."""

from __future__ import annotations

from typing import Final

from aedfleet.influx_query import query

# the collector writes every cabinet's state at each readiness heartbeat (60 s by default); the
# ops boards read the last five minutes, and so does the report
WINDOW_MS: Final = 5 * 60_000


def readiness_at(influx_url: str, database: str, at_ms: int) -> dict[str, str]:
    """cabinet id -> its last `state` in the five minutes up to `at_ms`; a cabinet with no
    point then is missing (the report shows it as `unknown`, not ready)."""
    rows = query(
        influx_url,
        database,
        f'SELECT last("state") AS "state" FROM "cabinet_state" WHERE time <= {at_ms}ms '
        f'AND time > {at_ms - WINDOW_MS}ms GROUP BY "cabinet"',
    )
    return {str(row["cabinet"]): str(row["state"]) for row in rows if row.get("state")}
