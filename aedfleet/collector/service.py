"""The collector's shell: MQTT source → pipeline → batcher → InfluxDB or spool → acknowledge.

One asyncio loop does it all: the sources run the pure pipeline for each message and fill the
batcher, and stop reading while it is full (the broker holds the rest); the flusher stores
batches through the sink (flush.py, sink.py), the backfill drains the spool, and /healthz,
/metrics and the operators' endpoints are served (http_api.py, metric_table.py). A message is
acknowledged only after its batch is in InfluxDB or fsynced in the spool. Start: sinks first;
stop: the sources stop taking messages first, then everything taken is written and
acknowledged.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import aiohttp

from aedfleet.alerts.shell import Alerting
from aedfleet.collector import lineprotocol as lp
from aedfleet.collector.batch import Batcher
from aedfleet.collector.clock import wall_ms
from aedfleet.collector.config import CollectorConfig
from aedfleet.collector.enrich import PointEncoder
from aedfleet.collector.flush import Flusher
from aedfleet.collector.http_api import access_from, serve
from aedfleet.collector.influx import InfluxWriter
from aedfleet.collector.inventory import Inventory
from aedfleet.collector.metric_table import metric_values
from aedfleet.collector.metrics import registry_for
from aedfleet.collector.mqtt import NO_ACK, AckToken
from aedfleet.collector.pipeline import Duplicate, Pipeline, Rejected, Stored
from aedfleet.collector.ratelog import RateLimiter
from aedfleet.collector.retention import keep_storage
from aedfleet.collector.sink import Sink
from aedfleet.collector.sources import Sources
from aedfleet.collector.spool import Spool
from aedfleet.collector.supervisor import supervise
from aedfleet.collector.validate import Rejection, Validator

log = logging.getLogger("aedfleet.collector")

INGEST_KINDS: Final = ("event", "telemetry", "status")


class Collector:
    def __init__(
        self, config: CollectorConfig, inventory: Inventory, clock: Callable[[], int] = wall_ms
    ) -> None:
        """`clock` is the time alerts and validation judge by (the simulator runs a faster
        one); batching and write deadlines always use the real clock."""
        self.config = config
        self._clock = clock
        fleet = config.fleet
        validator = Validator(
            prefix=config.mqtt.prefix,
            max_future_skew_ms=fleet.max_future_skew_s * 1000,
            max_age_ms=fleet.max_age_days * 86_400_000,
        )
        encoder = PointEncoder(inventory, utc_offset_minutes=fleet.utc_offset_minutes)
        self.pipeline = Pipeline(validator, encoder)
        influx = config.influx
        self._batcher: Batcher[AckToken] = Batcher(
            max_points=influx.batch_points,
            max_age_ms=influx.flush_interval_ms,
            capacity=influx.queue_capacity,
        )
        self._log_limiter = RateLimiter(window_ms=10_000)
        self.task_restarts: Counter[str] = Counter()
        self.registry = registry_for(self._metric_values)
        spool = Spool(Path(config.spool.dir), config.spool.max_bytes)
        self.sink = Sink(spool, config.spool.max_bytes, self.registry)
        self._flusher = Flusher(self._batcher, self.sink.store, self._ack)
        self.sources = Sources(config.mqtt, self._on_message, self._flusher.wait_for_room)
        self.alerting = Alerting(config, inventory, encoder, self._write_internal, clock)
        self._access = access_from(config.http)  # a weak token fails here, at start-up

    # --- the sources' side ----------------------------------------------------------------

    def _on_message(self, topic: str, payload: bytes, token: AckToken) -> None:
        if not self._flusher.taking:
            return  # stopping: not acknowledged, so the broker redelivers it later
        arrival_ms = self._clock()
        outcome = self.pipeline.line_for(topic, payload, arrival_ms)
        if isinstance(outcome, (Stored, Duplicate)):  # a tuple: faster than a union here
            self.alerting.on_message(outcome.message, arrival_ms)
        elif isinstance(outcome, Rejected):
            self._log_rejection(outcome.rejection, arrival_ms)
        if self._batcher.add(outcome.line, token, wall_ms):
            self._flusher.wake.set()

    def _write_internal(self, line: str) -> None:
        """Alert, notification and readiness points: stored with the next batch, nothing to
        acknowledge."""
        if self._batcher.add(line, NO_ACK, wall_ms):
            self._flusher.wake.set()

    def _log_rejection(self, rejection: Rejection, now_ms: int) -> None:
        held_back = self._log_limiter.allow(rejection.code, now_ms)
        if held_back is None:
            return
        log.warning(
            "rejected message on %s: %s: %s%s",
            lp.printable(rejection.topic.encode(), 120),
            rejection.code,
            lp.printable(rejection.detail.encode(), 300),  # it may quote what a cabinet sent
            f" ({held_back} more like it not logged)" if held_back else "",
        )

    def _ack(self, tokens: list[AckToken]) -> None:
        self.sources.ack(tokens)

    async def subscribed(self) -> None:
        """Wait until both connections are up and subscribed: from then on nothing a cabinet
        publishes is missed (a first start has no persistent session to queue it)."""
        await self.sources.subscribed()

    # --- the asyncio loop ---------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        # what start-up built (inventory, alert state, modules) lives as long as the process:
        # the cyclic GC need not walk it again on every full collection while messages flow.
        # What is garbage already is collected first, so a process that runs collectors
        # in-process (a simulation, a test) never freezes its garbage for good.
        gc.collect()
        gc.freeze()
        influx = self.config.influx
        async with aiohttp.ClientSession() as session:
            self.sink.writer = InfluxWriter(
                session,
                url=influx.url,
                database=influx.database,
                username=influx.username,
                password=influx.password,
                timeout_s=influx.timeout_s,
            )
            http = await serve(
                self.config.http.listen, self.health, self.registry, self.alerting, self._access
            )
            storage = asyncio.create_task(  # retention policies and aggregates: docs/storage.md
                keep_storage(self.sink.writer, influx.database, self.config.retention)
            )

            def start(name: str, work: Callable[[], Any]) -> asyncio.Task[None]:
                return asyncio.create_task(supervise(name, work, self.task_restarts))

            backfill = start("backfill", self.sink.backfill)
            writer = start("writer", self._flusher.run)
            sources = [start(source.name, source.run) for source in self.sources.both]
            alerting = start("alerting", lambda: self.alerting.run(session, self.sources.up))
            log.info("collector running; spool holds %d batches", len(self.sink.spool))
            await stop.wait()
            log.info("stopping: finishing what was taken from the broker")
            self._flusher.stop_taking()
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            await self._flusher.drain()
            for task in (*sources, alerting):
                task.cancel()
            await asyncio.gather(*sources, alerting, return_exceptions=True)
            await self.sources.stop()
            backfill.cancel()
            storage.cancel()
            await asyncio.gather(backfill, storage, return_exceptions=True)
            self.alerting.close()
            if http is not None:
                await http.cleanup()

    # --- health and metrics -------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        spool = self.sink.spool
        return {
            "mqtt_connected": self.sources.up(),
            "mqtt_subscribed": self.sources.receiving(),
            "sources": self.sources.connected(),
            "brokers": self.sources.brokers(),
            "influx": "down" if self.sink.influx_down else "ok",
            "queue_depth": self._batcher.pending,
            "spool_batches": len(spool),
            "spool_bytes": spool.bytes_used,
        }

    def _metric_values(self) -> dict[str, Any]:
        return metric_values(
            self.pipeline.counts,
            self.sink,
            self.sources.both,
            self.task_restarts,
            self.alerting,
            self.health(),
        )
