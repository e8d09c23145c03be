"""The collector against the real Mosquitto and InfluxDB: nothing lost, nothing stored twice."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from threading import Thread

import pytest
from paho.mqtt.client import topic_matches_sub

from aedfleet.collector.clock import wall_ms
from aedfleet.collector.service import INGEST_KINDS
from aedfleet.collector.topics import topic_for
from aedfleet.influx_query import query
from aedfleet.services import LocalServices, running_services
from tests.support.golden import INVALID
from tests.support.harness import (
    CollectorProcess,
    Publisher,
    cabinet_ids,
    count,
    telemetry_payload,
    telemetry_stream,
    wait_for,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]


def test_fifty_thousand_messages_from_a_thousand_cabinets_all_stored(
    services: LocalServices, tmp_path: Path
) -> None:
    ids = cabinet_ids(1000)
    collector = CollectorProcess(services, tmp_path, database="e2e_50k", ids=ids)
    collector.process.start()
    publisher = Publisher(services)
    try:
        sent = publisher.publish_all(telemetry_stream(ids, 50, wall_ms() - 86_400_000))
        assert sent == 50_000
        wait_for(
            lambda: count(collector.influx_url, "e2e_50k", "telemetry") >= sent,
            60,
            "every point in InfluxDB",
        )
        assert count(collector.influx_url, "e2e_50k", "telemetry") == sent
        per_cabinet = count(collector.influx_url, "e2e_50k", "telemetry", "cabinet = 'test-00999'")
        assert per_cabinet == 50
    finally:
        publisher.close()
        collector.process.stop()


@pytest.fixture
def own_services(tmp_path: Path) -> Iterator[LocalServices]:
    """Services of this test alone, for tests that stop and restart them."""
    with running_services(tmp_path / "services") as started:
        yield started


def _publish_in_background(publisher: Publisher, messages: list[tuple[str, bytes]]) -> Thread:
    thread = Thread(target=publisher.publish_all, args=(iter(messages),), daemon=True)
    thread.start()
    return thread


def test_kill_9_three_times_during_a_stream_stores_every_message_exactly_once(
    services: LocalServices, tmp_path: Path
) -> None:
    ids = cabinet_ids(1000)
    database = "e2e_kill"
    collector = CollectorProcess(services, tmp_path, database=database, ids=ids)
    collector.process.start()
    publisher = Publisher(services, client_id="kill-publisher")
    messages = list(telemetry_stream(ids, 100, wall_ms() - 86_400_000))
    stored = partial(count, collector.influx_url, database, "telemetry")
    try:
        sending = _publish_in_background(publisher, messages)
        for threshold in (15_000, 45_000, 75_000):
            wait_for(lambda t=threshold: stored() >= t, 60, f"{threshold} points")
            collector.process.signal(signal.SIGKILL)
            collector.process.stop()
            collector.process.start()
        sending.join(120)
        wait_for(lambda: stored() >= len(messages), 90, "every point after the kills")
        # a late redelivery would come before a later message on the same session
        sentinel = telemetry_payload(ids[0], 100, wall_ms())
        publisher.publish_all(iter([(topic_for(ids[0], "telemetry"), sentinel)]))
        wait_for(lambda: stored() > len(messages), 30, "the sentinel")
        assert stored() == len(messages) + 1 == 100_001
    finally:
        publisher.close()
        collector.process.stop()


def test_influxdb_down_for_30_s_spools_and_backfills_everything(
    own_services: LocalServices, tmp_path: Path
) -> None:
    ids = cabinet_ids(200)
    database = "e2e_outage"
    collector = CollectorProcess(own_services, tmp_path / "c", database=database, ids=ids)
    collector.process.start()
    publisher = Publisher(own_services)
    stored = partial(count, collector.influx_url, database, "telemetry")
    messages = list(telemetry_stream(ids, 100, wall_ms() - 86_400_000))
    try:
        publisher.publish_all(iter(messages[:4000]))
        wait_for(lambda: stored() == 4000, 30, "the first points")
        own_services.influxdb.process.stop()
        outage_started = time.monotonic()
        for start in range(4000, 16_000, 1000):  # a steady stream through the outage
            publisher.publish_all(iter(messages[start : start + 1000]))
            time.sleep(2)
        wait_for(lambda: collector.health()["spool_batches"] > 0, 10, "batches in the spool")
        assert collector.health()["influx"] == "down"
        time.sleep(max(0.0, 30 - (time.monotonic() - outage_started)))
        own_services.influxdb.process.start()
        publisher.publish_all(iter(messages[16_000:]))
        wait_for(lambda: collector.health()["spool_batches"] == 0, 90, "the spool to drain")
        wait_for(lambda: stored() >= len(messages), 30, "every point")
        assert stored() == len(messages)
        metrics = collector.metrics()
        assert "aedfleet_collector_points_backfilled_total" in metrics
        assert 'points_dropped_total{reason="spool_full"}' not in metrics
        assert collector.health()["influx"] == "ok"
    finally:
        publisher.close()
        collector.process.stop()


def test_broker_restart_during_a_stream_loses_nothing(
    own_services: LocalServices, tmp_path: Path
) -> None:
    ids = cabinet_ids(500)
    database = "e2e_broker_restart"
    collector = CollectorProcess(own_services, tmp_path / "c", database=database, ids=ids)
    collector.process.start()
    messages = list(telemetry_stream(ids, 60, wall_ms() - 86_400_000))
    stored = partial(count, collector.influx_url, database, "telemetry")
    first = Publisher(own_services, client_id="before-restart")
    first.publish_all(iter(messages[:15_000]))
    first.close()
    # the broker goes down with part of the collector's backlog still queued for it
    own_services.mosquitto.process.stop()
    own_services.mosquitto.process.start()
    second = Publisher(own_services, client_id="after-restart")
    try:
        second.publish_all(iter(messages[15_000:]))
        wait_for(lambda: stored() >= len(messages), 90, "every point after the restart")
        assert stored() == len(messages)
    finally:
        second.close()
        collector.process.stop()


def test_invalid_vectors_amid_valid_traffic_are_dead_lettered_and_nothing_else_is_lost(
    services: LocalServices, tmp_path: Path
) -> None:
    ids = cabinet_ids(100)
    database = "e2e_dead_letters"
    collector = CollectorProcess(services, tmp_path, database=database, ids=ids)
    collector.process.start()
    valid = list(telemetry_stream(ids, 20, wall_ms() - 86_400_000))
    subscribed = [
        v for v in INVALID if any(topic_matches_sub(f"aed/v1/+/{k}", v.topic) for k in INGEST_KINDS)
    ]
    mixed: list[tuple[str, bytes]] = []
    for index, vector in enumerate(subscribed):
        mixed.extend(valid[index * 40 : (index + 1) * 40])
        mixed.append((vector.topic, vector.at(wall_ms())))
    mixed.extend(valid[len(subscribed) * 40 :])
    publisher = Publisher(services)
    try:
        publisher.publish_all(iter(mixed))
        wait_for(
            lambda: count(collector.influx_url, database, "telemetry") >= len(valid), 30, "valid"
        )
        rows = query(
            collector.influx_url,
            database,
            'SELECT count("size") FROM "dead_letter" GROUP BY "reason"',
        )
        stored_reasons = Counter({row["reason"]: row["count"] for row in rows})
        expected = Counter(v.reason for v in subscribed)
        # every invalid vector is kept once; a broker redelivery after a reconnect under load
        # adds a second copy (a dead letter is stamped on arrival), never loses one
        assert set(stored_reasons) == set(expected)
        assert stored_reasons >= expected
        assert count(collector.influx_url, database, "telemetry") == len(valid)
        details = query(
            collector.influx_url,
            database,
            'SELECT "detail" FROM "dead_letter" WHERE "reason" = \'clock_skew\'',
        )
        assert all("ts" in row["detail"] for row in details)
        metrics = collector.metrics()
        assert 'aedfleet_collector_messages_invalid_total{reason="bad_json"}' in metrics
        log = collector.log_path.read_text()
        assert "rejected message on aed/v1/" in log and "\xff" not in log
    finally:
        publisher.close()
        collector.process.stop()
