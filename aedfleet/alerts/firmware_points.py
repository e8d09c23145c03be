"""Pure: the `firmware` points, one per cabinet with its firmware version as a tag, so the
fleet's versions over time are counted per version in InfluxQL (a field, such as telemetry's
`fw`, cannot be grouped by). Written like `readiness`: on a change, and for every cabinet at
the steady interval, so each interval of a board holds every cabinet once."""

from __future__ import annotations

from typing import Final

from aedfleet.alerts.engine import AlertEngine
from aedfleet.collector import lineprotocol as lp
from aedfleet.collector.enrich import PointEncoder

MEASUREMENT: Final = "firmware"


class FirmwarePoints:
    def __init__(self, engine: AlertEngine, encoder: PointEncoder) -> None:
        self._engine = engine
        self._encoder = encoder
        self._last: dict[str, str] = {}

    def lines(self, cabinet_ids: list[str], now_ms: int, *, force: bool) -> list[str]:
        """Points for the cabinets whose version changed (all known versions when `force`);
        a cabinet that never said its version has none."""
        out = []
        for cabinet_id in cabinet_ids:
            cabinet = self._engine.cabinets.get(cabinet_id)
            fw = "" if cabinet is None else cabinet.fw
            if not fw or (not force and self._last.get(cabinet_id) == fw):
                continue
            self._last[cabinet_id] = fw
            out.append(
                f"{MEASUREMENT}{self._encoder.tags(cabinet_id)},fw={lp.tag(fw)} n=1i {now_ms}"
            )
        return out
