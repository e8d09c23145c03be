"""The collector's shell: MQTT source → pipeline → batcher → InfluxDB or spool → acknowledge.

One asyncio loop does it all: the source runs the pure pipeline for each message and fills the
batcher, and stops reading while it is full (the broker holds the rest); the writer stores
batches, the backfill drains the spool, and /healthz and /metrics are served. A message is
acknowledged only after its batch is in InfluxDB or fsynced in the spool. Start: sinks first;
stop: the source stops taking messages first, then everything taken is written and
acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web
from prometheus_client import Histogram

from aedfleet.alerts.shell import Alerting
from aedfleet.collector import lineprotocol as lp
from aedfleet.collector.batch import Batch, Batcher
from aedfleet.collector.clock import wall_ms
from aedfleet.collector.config import CollectorConfig, Identity
from aedfleet.collector.enrich import PointEncoder, dead_letter_line
from aedfleet.collector.http_api import access_from, add_alert_routes
from aedfleet.collector.influx import InfluxUnavailableError, InfluxWriter
from aedfleet.collector.inventory import Inventory
from aedfleet.collector.metrics import registry_for, render
from aedfleet.collector.mqtt import EVENT_SOURCE, NO_ACK, TELEMETRY_SOURCE, AckToken, MqttSource
from aedfleet.collector.pipeline import Pipeline
from aedfleet.collector.protocol import Config
from aedfleet.collector.ratelog import RateLimiter
from aedfleet.collector.spool import Spool
from aedfleet.collector.supervisor import supervise
from aedfleet.collector.topics import subscription
from aedfleet.collector.validate import Rejection, Validator

log = logging.getLogger("aedfleet.collector")

INGEST_KINDS: Final = ("event", "telemetry", "status")
MAX_BACKOFF_S: Final = 30.0
WRITES_IN_FLIGHT: Final = 2


class _Unacked:
    """A batch taken for writing: acknowledged once stored and every older batch is."""

    __slots__ = ("done", "tokens")

    def __init__(self, tokens: list[AckToken]) -> None:
        self.tokens = tokens
        self.done = False


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
        self._taking = True
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._log_limiter = RateLimiter(window_ms=10_000)
        self.spool = Spool(Path(config.spool.dir), config.spool.max_bytes)
        self.influx_down = False
        self.points_written = 0
        self.points_spooled = 0
        self.points_backfilled = 0
        self.points_dropped: Counter[str] = Counter()
        self.task_restarts: Counter[str] = Counter()
        # MQTT 3.1.1 §4.6: PUBACKs in PUBLISH order, though two writes may finish out of order
        self._unacked: deque[_Unacked] = deque()
        mqtt = config.mqtt

        def source(name: str, who: Identity, kinds: tuple[str, ...]) -> MqttSource:
            return MqttSource(
                name=name,
                url=mqtt.url,
                client_id=who.client_id,
                subscriptions=[mqtt.shared_group + subscription(k, mqtt.prefix) for k in kinds],
                handler=self._on_message,
                room=self._wait_for_room,
                username=who.username,
                password=mqtt.password,
                ca_file=mqtt.ca_file,
                keepalive_s=mqtt.keepalive_s,
            )

        # events have their own connection: a door opening never queues behind telemetry
        telemetry, events = mqtt.identities()
        self.source = source(TELEMETRY_SOURCE, telemetry, ("telemetry",))
        self.event_source = source(EVENT_SOURCE, events, ("event", "status"))
        self.alerting = Alerting(config, inventory, encoder, self._write_internal, clock)
        self._access = access_from(config.http)  # a weak token fails here, at start-up
        self.registry = registry_for(self._metric_values)
        self._write_latency = Histogram(
            "aedfleet_collector_write_latency_seconds",
            "Time to write one batch to InfluxDB",
            registry=self.registry,
        )

    # --- the source's side --------------------------------------------------------------

    def _on_message(self, topic: str, payload: bytes, token: AckToken) -> None:
        if not self._taking:
            return  # stopping: not acknowledged, so the broker redelivers it later
        arrival_ms = self._clock()
        line, what = self.pipeline.line_for(topic, payload, arrival_ms)
        if isinstance(what, Rejection):
            self._log_rejection(what, arrival_ms)
        elif not isinstance(what, Config):
            self.alerting.on_message(what, arrival_ms)
        batcher = self._batcher
        batcher.add(line, token, wall_ms())
        if batcher.pending == self.config.influx.batch_points:
            self._wake.set()

    def _write_internal(self, line: str) -> None:
        """Alert, notification and readiness points: stored with the next batch, nothing to
        acknowledge."""
        self._batcher.add(line, NO_ACK, wall_ms())

    async def _wait_for_room(self) -> None:
        while self._batcher.full and self._taking:
            self._wake.set()
            self._room.clear()
            await self._room.wait()

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

    # --- the asyncio loop ---------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        influx = self.config.influx
        async with aiohttp.ClientSession() as session:
            self.writer = InfluxWriter(
                session,
                url=influx.url,
                database=influx.database,
                username=influx.username,
                password=influx.password,
                timeout_s=influx.timeout_s,
            )
            http = await self._start_http()

            def start(name: str, work: Callable[[], Any]) -> asyncio.Task[None]:
                return asyncio.create_task(supervise(name, work, self.task_restarts))

            backfill = start("backfill", self._backfill_loop)
            writer = start("writer", self._writer_loop)
            sources = [
                start(TELEMETRY_SOURCE, self.source.run),
                start(EVENT_SOURCE, self.event_source.run),
            ]
            alerting = start("alerting", lambda: self.alerting.run(session, self._broker_up))
            log.info("collector running; spool holds %d batches", len(self.spool))
            await stop.wait()
            log.info("stopping: finishing what was taken from the broker")
            self._taking = False
            self._room.set()
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            await self._drain()
            for task in (*sources, alerting):
                task.cancel()
            await asyncio.gather(*sources, alerting, return_exceptions=True)
            await self.source.stop()
            await self.event_source.stop()
            backfill.cancel()
            await asyncio.gather(backfill, return_exceptions=True)
            self.alerting.close()
            if http is not None:
                await http.cleanup()

    async def _writer_loop(self) -> None:
        # two writes in flight: InfluxDB parses one batch while the next is on its way
        in_flight = asyncio.Semaphore(WRITES_IN_FLIGHT)
        writing: set[asyncio.Task[None]] = set()
        try:
            while True:
                self._wake.clear()
                batch = self._take_due(wall_ms())
                if batch is None:
                    wait_ms = self._batcher.ms_until_due(wall_ms())
                    timeout_s = (wait_ms if wait_ms is not None else 1000) / 1000
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout_s)
                    continue
                await in_flight.acquire()
                unacked = _Unacked(batch.tokens)
                self._unacked.append(unacked)
                task = asyncio.create_task(self._store_and_ack(batch, unacked, in_flight))
                writing.add(task)
                task.add_done_callback(writing.discard)
        finally:
            await asyncio.gather(*writing, return_exceptions=True)

    async def _store_and_ack(
        self, batch: Batch[AckToken], unacked: _Unacked, in_flight: asyncio.Semaphore
    ) -> None:
        stored = False
        try:
            await self._store(batch)
            stored = True
        except Exception:
            log.exception("a batch of %d lines could not be stored", len(batch.lines))
        finally:
            if not stored:
                # not durable (failed or cancelled): never acknowledged, so the broker sends it
                # again after a reconnect; the batches after it must not wait for it
                unacked.tokens = []
            unacked.done = True
            self._ack_stored()
            in_flight.release()

    def _ack_stored(self) -> None:
        """Acknowledge every stored batch not waiting behind an older one still in flight."""
        queue = self._unacked
        while queue and queue[0].done:
            self._ack(queue.popleft().tokens)

    def _ack(self, tokens: list[AckToken]) -> None:
        # each source skips tokens of other connections: their generation never matches
        self.source.ack(t for t in tokens if t.source == TELEMETRY_SOURCE)
        self.event_source.ack(t for t in tokens if t.source == EVENT_SOURCE)

    async def subscribed(self) -> None:
        """Wait until both connections are up and subscribed: from then on nothing a cabinet
        publishes is missed (a first start has no persistent session to queue it)."""
        await self.source.subscribed.wait()
        await self.event_source.subscribed.wait()

    def _broker_up(self) -> bool:
        return self.source.connected.is_set() and self.event_source.connected.is_set()

    def _take_due(self, now_ms: int, *, everything: bool = False) -> Batch[AckToken] | None:
        if not (self._batcher.pending if everything else self._batcher.due(now_ms)):
            return None
        batch = self._batcher.take()
        self._room.set()
        return batch

    async def _drain(self) -> None:
        self._ack_stored()
        while (batch := self._take_due(wall_ms(), everything=True)) is not None:
            await self._store(batch)
            self._ack(batch.tokens)

    async def _store(self, batch: Batch[AckToken]) -> None:
        """Make the batch durable: in InfluxDB, or else in the spool."""
        points = sum(line.count("\n") + 1 for line in batch.lines if line)
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
            self.config.spool.max_bytes,
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

    async def _backfill_loop(self) -> None:
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

    # --- health and metrics -------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return {
            "mqtt_connected": self._broker_up(),
            "sources": {
                source.name: source.connected.is_set()
                for source in (self.source, self.event_source)
            },
            "influx": "down" if self.influx_down else "ok",
            "queue_depth": self._batcher.pending,
            "spool_batches": len(self.spool),
            "spool_bytes": self.spool.bytes_used,
        }

    def _metric_values(self) -> dict[str, Any]:
        counts = self.pipeline.counts
        health = self.health()
        return {
            "messages_received_total": ("counter", "MQTT messages received", counts.received),
            "messages_valid_total": ("counter", "Messages valid under protocol v1", counts.valid),
            "messages_invalid_total": (
                "counter",
                "Messages rejected, by reason (each kept as a dead letter)",
                dict(counts.invalid),
            ),
            "messages_unknown_cabinet_total": (
                "counter",
                "Valid messages from cabinets missing from the inventory",
                counts.unknown_cabinet,
            ),
            "messages_duplicate_total": (
                "counter",
                "Redelivered unsynced messages dropped",
                counts.duplicates,
            ),
            "points_written_total": ("counter", "Points written to InfluxDB", self.points_written),
            "points_spooled_total": ("counter", "Points spooled to disk", self.points_spooled),
            "points_backfilled_total": (
                "counter",
                "Spooled points written to InfluxDB later",
                self.points_backfilled,
            ),
            "points_dropped_total": (
                "counter",
                "Points lost, by reason",
                dict(self.points_dropped),
            ),
            "queue_depth": ("gauge", "Lines waiting in memory", health["queue_depth"]),
            "spool_bytes": ("gauge", "Bytes in the on-disk spool", health["spool_bytes"]),
            "mqtt_connected": (
                "gauge",
                "1 while connected to the broker",
                health["mqtt_connected"],
            ),
            "mqtt_reconnects_total": (
                "counter",
                "Broker reconnects",
                self.source.reconnects + self.event_source.reconnects,
            ),
            "mqtt_connection_failures_total": (
                "counter",
                "Broker connections that ended, by reason",
                dict(self.source.failures + self.event_source.failures),
            ),
            "mqtt_sessions_lost_total": (
                "counter",
                "Reconnects where the broker had kept no session (queued messages lost)",
                self.source.sessions_lost + self.event_source.sessions_lost,
            ),
            "mqtt_subscriptions_refused_total": (
                "counter",
                "SUBACKs refusing a subscription or granting less than QoS 1",
                self.source.subscriptions_refused + self.event_source.subscriptions_refused,
            ),
            "mqtt_oversize_total": (
                "counter",
                "PUBLISH packets over the size limit, cut and rejected",
                self.source.oversize + self.event_source.oversize,
            ),
            "task_restarts_total": (
                "counter",
                "Long-running tasks that ended and were restarted, by task",
                dict(self.task_restarts),
                "task",
            ),
            "alert_redeliveries_total": (
                "counter",
                "Messages the alert engine had already folded (redeliveries), ignored",
                self.alerting.engine.redeliveries,
            ),
            "alerts_active": (
                "gauge",
                "Alerts firing or acknowledged",
                len(self.alerting.active()),
            ),
            "notifications_sent_total": (
                "counter",
                "Notifications the providers accepted",
                self.alerting.dispatcher.sent if self.alerting.dispatcher else 0,
            ),
            "notifications_failed_total": (
                "counter",
                "Notifications that failed for good or whose outcome is unknown",
                self.alerting.dispatcher.failed if self.alerting.dispatcher else 0,
            ),
        }

    async def _start_http(self) -> web.AppRunner | None:
        listen = self.config.http.listen
        if not listen:
            return None
        host, _, port = listen.rpartition(":")

        async def healthz(_request: web.Request) -> web.Response:
            health = self.health()
            return web.json_response(health, status=200 if health["mqtt_connected"] else 503)

        async def metrics(_request: web.Request) -> web.Response:
            return web.Response(body=render(self.registry), content_type="text/plain")

        app = web.Application()
        app.router.add_get("/healthz", healthz)
        app.router.add_get("/metrics", metrics)
        add_alert_routes(app, self.alerting, self._access)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, int(port)).start()
        return runner
