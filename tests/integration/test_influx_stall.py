"""Backpressure without a reconnect: InfluxDB frozen (SIGSTOP) for a minute under load. The
collector stops reading while its queue is full, so the broker holds the rest; the MQTT
sessions stay up through the pause (longer than 1.5 keepalives), nothing is lost, and the
backlog drains once InfluxDB runs again."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from aedfleet.collector.clock import wall_ms
from aedfleet.services import LocalServices, running_services
from tests.support.harness import (
    CollectorProcess,
    Publisher,
    cabinet_ids,
    count,
    telemetry_stream,
    wait_for,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]
STALL_S = 60  # the fault's length: more than the 45 s (1.5 x keepalive 30 s) of broker silence


@pytest.fixture
def own_services(tmp_path: Path) -> Iterator[LocalServices]:
    """Services of this test alone: their InfluxDB is frozen."""
    with running_services(tmp_path / "services") as started:
        yield started


def test_influxdb_frozen_for_a_minute_keeps_the_sessions_and_loses_nothing(
    own_services: LocalServices, tmp_path: Path
) -> None:
    ids = cabinet_ids(100)
    database = "stall"
    collector = CollectorProcess(
        own_services, tmp_path / "c", database=database, ids=ids,
        # a write waits out the whole stall (no spooling): reading stays paused throughout
        influx={"timeout_s": 3 * STALL_S, "batch_points": 500, "queue_capacity": 2000},
        mqtt={"keepalive_s": 30},
    )  # fmt: skip
    collector.process.start()
    publisher = Publisher(own_services)
    stored = partial(count, collector.influx_url, database, "telemetry")
    messages = list(telemetry_stream(ids, 150, wall_ms() - 86_400_000))
    influxdb = own_services.influxdb.process
    try:
        publisher.publish_all(iter(messages[:1000]))
        wait_for(lambda: stored() == 1000, 30, "the first points")
        influxdb.signal(signal.SIGSTOP)
        try:
            publisher.publish_all(iter(messages[1000:]))
            wait_for(lambda: collector.health()["queue_depth"] >= 2000, 30, "a full queue")
            time.sleep(STALL_S)  # the fault lasts this long; nothing is asserted about time
            assert collector.health()["queue_depth"] >= 2000  # still paused, still connected
            assert collector.health()["mqtt_connected"] is True
        finally:
            influxdb.signal(signal.SIGCONT)
        wait_for(lambda: stored() >= len(messages), 120, "every point after the stall")
        assert stored() == len(messages)
        metrics = collector.metrics()
        assert "aedfleet_collector_mqtt_reconnects_total 0.0" in metrics
        assert "aedfleet_collector_mqtt_connection_failures_total{" not in metrics
        assert collector.health()["spool_batches"] == 0
    finally:
        publisher.close()
        collector.process.stop()
