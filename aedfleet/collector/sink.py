"""Where a batch becomes durable: InfluxDB, or else the on-disk spool, which the backfill
drains oldest first once InfluxDB is back. Lines InfluxDB refuses are kept as dead letters.
Counts every point it stores, spools, backfills or loses."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from itertools import repeat
from typing import Final

from prometheus_client import CollectorRegistry, Histogram

from aedfleet.collector.batch import Batch
from aedfleet.collector.clock import wall_ms
from aedfleet.collector.enrich import dead_letter_line
from aedfleet.collector.influx import InfluxUnavailableError, InfluxWriter
from aedfleet.collector.mqtt import AckToken
from aedfleet.collector.spool import Spool

log = logging.getLogger("aedfleet.collector")

MAX_BACKOFF_S: Final = 30.0


class Sink:
    """Stores batches; `writer` is set once the service has its HTTP session."""

    writer: InfluxWriter

    def __init__(self, spool: Spool, spool_max_bytes: int, registry: CollectorRegistry) -> None:
        self.spool = spool
        self._spool_max_bytes = spool_max_bytes
        self.influx_down = False
        self.points_written = 0
        self.points_spooled = 0
        self.points_backfilled = 0
        self.points_dropped: Counter[str] = Counter()
        self._write_latency = Histogram(
            "aedfleet_collector_write_latency_seconds",
            "Time to write one batch to InfluxDB",
            registry=registry,
        )

    async def store(self, batch: Batch[AckToken]) -> None:
        """Make the batch durable: in InfluxDB, or else in the spool."""
        lines = batch.lines  # an entry may hold several points; "" holds none (a duplicate)
        points = len(lines) - lines.count("") + sum(map(str.count, lines, repeat("\n")))
        if not points:
            return
        if self.influx_down or len(self.spool):
            self._spool(batch.body(), points)  # keep order: older spooled batches go first
            return
        started = time.monotonic()
        try:
            refused = await self.writer.write(batch.lines)
        except InfluxUnavailableError as error:
            log.warning("%s; spooling to disk until it is back", error)
            self.influx_down = True
            self._spool(batch.body(), points)
            return
        self._write_latency.observe(time.monotonic() - started)
        self.points_written += points - len(refused)
        if refused:
            await self._dead_letter_refused(refused)

    def _spool(self, body: bytes, points: int) -> None:
        if self.spool.put(body):
            self.points_spooled += points
            return
        self.points_dropped["spool_full"] += points
        log.error(
            "SPOOL FULL (%d bytes, limit %d): %d points DROPPED while InfluxDB is down; "
            "raise [spool] max_bytes or bring InfluxDB back",
            self.spool.bytes_used,
            self._spool_max_bytes,
            points,
        )

    async def _dead_letter_refused(self, refused: list[tuple[str, str]]) -> None:
        now_ms = wall_ms()
        lines = [
            dead_letter_line(
                reason="write_rejected",
                kind="line",
                detail=f"InfluxDB refused the line: {reason}",
                topic="",
                payload=line.encode(),
                cabinet_id="",
                stamp_ms=now_ms + offset,
            )
            for offset, (line, reason) in enumerate(refused)
        ]
        log.error("InfluxDB refused %d lines; kept as dead letters", len(refused))
        try:
            still_refused = await self.writer.write(lines)
        except InfluxUnavailableError:
            still_refused = [(line, "unavailable") for line in lines]
        self.points_dropped["write_rejected"] += len(refused)
        self.points_dropped["dead_letter_failed"] += len(still_refused)

    async def backfill(self) -> None:
        """Runs for ever: drains the spool into InfluxDB, and notices when InfluxDB is back."""
        backoff_s = 0.5
        while True:
            oldest = self.spool.oldest()
            if oldest is None:
                if self.influx_down and await self.writer.ping():
                    log.info("InfluxDB is back")
                    self.influx_down = False
                await asyncio.sleep(backoff_s if self.influx_down else 0.5)
                continue
            path, body = oldest
            lines = body.decode().splitlines()
            try:
                refused = await self.writer.write(lines)
            except InfluxUnavailableError:
                backoff_s = min(MAX_BACKOFF_S, backoff_s * 2) * random.uniform(0.8, 1.2)
                await asyncio.sleep(backoff_s)
                continue
            backoff_s = 0.5
            self.spool.remove(path)
            self.points_backfilled += len(lines) - len(refused)
            if refused:
                await self._dead_letter_refused(refused)
            if not len(self.spool):
                log.info("spool empty: backfill done")
                self.influx_down = False
