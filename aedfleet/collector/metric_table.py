"""The collector's metrics table: every metric /metrics shows, with its kind, help and value,
read from the plain counters of the pipeline, the sink, the sources and the alert shell at
scrape time (metrics.py renders it)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aedfleet.alerts.shell import Alerting
from aedfleet.collector.mqtt import MqttSource
from aedfleet.collector.pipeline import Counts
from aedfleet.collector.sink import Sink


def metric_values(
    counts: Counts,
    sink: Sink,
    sources: tuple[MqttSource, MqttSource],
    task_restarts: Counter[str],
    alerting: Alerting,
    health: dict[str, Any],
) -> dict[str, Any]:
    """{name: (kind, help, value[, label name])}, as metrics.registry_for reads it."""
    telemetry, events = sources
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
        "points_written_total": ("counter", "Points written to InfluxDB", sink.points_written),
        "points_spooled_total": ("counter", "Points spooled to disk", sink.points_spooled),
        "points_backfilled_total": (
            "counter",
            "Spooled points written to InfluxDB later",
            sink.points_backfilled,
        ),
        "points_dropped_total": (
            "counter",
            "Points lost, by reason",
            dict(sink.points_dropped),
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
            telemetry.reconnects + events.reconnects,
        ),
        "mqtt_connection_failures_total": (
            "counter",
            "Broker connections that ended, by reason",
            dict(telemetry.failures + events.failures),
        ),
        "mqtt_sessions_lost_total": (
            "counter",
            "Reconnects where the broker had kept no session (queued messages lost)",
            telemetry.sessions_lost + events.sessions_lost,
        ),
        "mqtt_subscriptions_refused_total": (
            "counter",
            "SUBACKs refusing a subscription or granting less than QoS 1",
            telemetry.subscriptions_refused + events.subscriptions_refused,
        ),
        "mqtt_oversize_total": (
            "counter",
            "PUBLISH packets over the size limit, cut and rejected",
            telemetry.oversize + events.oversize,
        ),
        "task_restarts_total": (
            "counter",
            "Long-running tasks that ended and were restarted, by task",
            dict(task_restarts),
            "task",
        ),
        "alert_redeliveries_total": (
            "counter",
            "Messages the alert engine had already folded (redeliveries), ignored",
            alerting.engine.redeliveries,
        ),
        "alerts_active": (
            "gauge",
            "Alerts firing or acknowledged",
            len(alerting.active()),
        ),
        "notifications_sent_total": (
            "counter",
            "Notifications the providers accepted",
            alerting.dispatcher.sent if alerting.dispatcher else 0,
        ),
        "notifications_failed_total": (
            "counter",
            "Notifications that failed for good or whose outcome is unknown",
            alerting.dispatcher.failed if alerting.dispatcher else 0,
        ),
    }
