"""The collector's shell against a scripted broker and a scripted InfluxDB: PUBACKs leave in
PUBLISH order though two writes are in flight (MQTT 3.1.1 §4.6), /healthz says 503 while a
source is not connected, and a task that ends is restarted, logged and counted."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import msgspec
import pytest
from aiohttp import web

from aedfleet.collector.config import CollectorConfig
from aedfleet.collector.inventory import load_inventory
from aedfleet.collector.service import Collector
from aedfleet.collector.supervisor import supervise
from aedfleet.services import free_port
from tests.support.fake_broker import (
    CONNECT,
    Connection,
    FakeBroker,
    connack,
    publish,
    until,
)
from tests.support.harness import inventory_file

pytestmark = pytest.mark.asyncio


class ScriptedInflux:
    """InfluxDB's /write, holding the first write until the third arrives: the second write
    finishes first, as it can when two are in flight."""

    def __init__(self) -> None:
        self.writes = 0
        self._third = asyncio.Event()
        self.url = ""

    async def write(self, request: web.Request) -> web.Response:
        await request.read()
        self.writes += 1
        if self.writes == 1:
            await self._third.wait()
        elif self.writes == 3:
            self._third.set()
        return web.Response(status=204)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[ScriptedInflux]:
        app = web.Application()
        app.router.add_post("/write", self.write)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        try:
            yield self
        finally:
            self._third.set()
            await runner.cleanup()


@asynccontextmanager
async def collecting(
    tmp_path: Path, broker: FakeBroker, influx_url: str, http_port: int = 0
) -> AsyncIterator[Collector]:
    config = msgspec.convert(
        {
            "mqtt": {"url": broker.url, "client_id": "collector-test"},
            "influx": {"url": influx_url, "batch_points": 2, "flush_interval_ms": 600_000,
                       "queue_capacity": 100},
            "spool": {"dir": str(tmp_path / "spool")},
            "http": {"listen": f"127.0.0.1:{http_port}" if http_port else ""},
            "alerts": {"state_dir": str(tmp_path / "state")},
        },
        CollectorConfig,
    )  # fmt: skip
    collector = Collector(config, load_inventory(inventory_file(tmp_path / "inv.csv", [])))
    stop = asyncio.Event()
    running = asyncio.create_task(collector.run(stop))
    try:
        yield collector
    finally:
        stop.set()
        await running


async def test_pubacks_leave_in_publish_order_though_a_later_write_finishes_first(
    tmp_path: Path,
) -> None:
    async def telemetry(conn: Connection) -> None:
        await conn.handshake(session_present=True)
        # rejected payloads: each a dead letter with its token, and no alert traffic between
        for packet_id in range(1, 7):
            conn.send(publish("aed/v1/bz-bc-001/telemetry", b"{}", packet_id=packet_id))
        await conn.serve()

    async with (
        ScriptedInflux().running() as influx,
        FakeBroker(telemetry).running() as broker,
        collecting(tmp_path, broker, influx.url),
    ):
        await broker.connections_made(1)
        conn = broker.connections[0]
        await until(lambda: len(conn.acks()) == 6)
        assert conn.acks() == [1, 2, 3, 4, 5, 6]


async def test_healthz_is_503_while_a_source_is_not_connected(tmp_path: Path) -> None:
    allowed = asyncio.Event()

    async def refuse_until_allowed(conn: Connection) -> None:
        await conn.expect(CONNECT)
        if not allowed.is_set():
            conn.send(connack(3))  # server unavailable
            await conn.drain()
            return
        conn.send(connack(session_present=True))
        await conn.grant()
        await conn.serve()

    port = free_port()
    async with (
        ScriptedInflux().running() as influx,
        FakeBroker(refuse_until_allowed).running() as broker,
        collecting(tmp_path, broker, influx.url, http_port=port) as collector,
        httpx.AsyncClient() as http,
    ):
        url = f"http://127.0.0.1:{port}/healthz"
        await broker.connections_made(2)
        answer = (await http.get(url)).json()
        assert answer["mqtt_connected"] is False
        assert (await http.get(url)).status_code == 503
        allowed.set()
        await collector.subscribed()
        assert (await http.get(url)).status_code == 200
        metrics = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        assert 'aedfleet_collector_mqtt_connection_failures_total{reason="refused"}' in metrics


async def test_a_task_that_ends_or_fails_is_logged_counted_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[str] = []
    forever = asyncio.Event()

    async def flaky() -> None:
        runs.append("run")
        if len(runs) == 1:
            raise OSError("disk gone")
        if len(runs) == 2:
            return
        await forever.wait()

    restarts: Counter[str] = Counter()
    caplog.set_level(logging.ERROR, "aedfleet.collector")
    task = asyncio.create_task(supervise("writer", flaky, restarts, min_restart_s=0.01))
    try:
        await until(lambda: len(runs) == 3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert restarts == Counter({"writer": 2})
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "task writer failed" in errors[0].getMessage() and errors[0].exc_info
    assert "task writer ended by itself" in errors[1].getMessage()
