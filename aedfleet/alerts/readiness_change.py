"""Pure: the `readiness_change` points, one per cabinet only when its readiness state or
reason changes, plus one for every cabinet after a collector start (its first since the
start) so a period's first state is known (docs/storage.md). Time-weighted readiness is then a
sum of intervals between these points: a month is a few points per cabinet, not one a
minute."""

from __future__ import annotations

from typing import Final

from aedfleet.collector import lineprotocol as lp
from aedfleet.collector.enrich import PointEncoder

MEASUREMENT: Final = "readiness_change"
# the state as one integer a query can compare: available 1, offline 2, in_use 4, not_ready 0
CODES: Final = {"not_ready": 0, "available": 1, "offline": 2, "in_use": 4}


class ReadinessChanges:
    """Remembers each cabinet's last written (state, reason) since this collector started."""

    def __init__(self, encoder: PointEncoder) -> None:
        self._encoder = encoder
        self._last: dict[str, tuple[str, str]] = {}

    def line(self, cabinet_id: str, value: tuple[str, str], now_ms: int) -> str | None:
        """The point for this cabinet's readiness if it differs from the last one written
        (always for its first since start); else None."""
        if self._last.get(cabinet_id) == value:
            return None
        self._last[cabinet_id] = value
        state, reason = value
        return (
            f"{MEASUREMENT}{self._encoder.tags(cabinet_id)} state={lp.string(state)},"
            f"reason={lp.string(reason)},code={CODES.get(state, 0)}i"
            f"{self._encoder.place(cabinet_id)} {now_ms}"
        )
