"""Grafana alert rules provisioned as code (Grafana's alerting provisioning file format):
the dead-man rules aedfleet cannot raise about itself. If the collector, the broker or
InfluxDB dies, aedfleet's own alerting dies with it; Grafana, watching InfluxDB from outside,
still notices that no telemetry arrives and that no cabinet snapshot is written, and notifies a
contact point whose address comes from Grafana's environment."""

from __future__ import annotations

from typing import Any, Final

from aedfleet.dashboards.site import Site
from aedfleet.dashboards.targets import DATASOURCE_UID

GROUP: Final = "aedfleet dead-man"
CONTACT_POINT: Final = "aedfleet operators"
# Grafana expands these from its own environment when it reads the file
CONTACT_ENVIRONMENT: Final = ("AEDFLEET_GRAFANA_ALERT_WEBHOOK",)
RULE_UIDS: Final = ("aedfleet-no-telemetry", "aedfleet-no-snapshot")


def _rule(uid: str, title: str, influxql: str, window_s: int, summary: str) -> dict[str, Any]:
    """Fires when the query counts fewer than one point in the last `window_s` seconds, or
    returns nothing at all (no data is the failure here, so it alerts too)."""
    return {
        "uid": uid,
        "title": title,
        "condition": "C",
        "data": [
            {"refId": "A", "relativeTimeRange": {"from": window_s, "to": 0},
             "datasourceUid": DATASOURCE_UID,
             "model": {"refId": "A", "query": influxql, "rawQuery": True,
                       "resultFormat": "time_series"}},
            {"refId": "B", "datasourceUid": "__expr__",
             "model": {"refId": "B", "type": "reduce", "expression": "A", "reducer": "last",
                       "settings": {"mode": "replaceNN", "replaceWithValue": 0}}},
            {"refId": "C", "datasourceUid": "__expr__",
             "model": {"refId": "C", "type": "threshold", "expression": "B",
                       "conditions": [{"evaluator": {"type": "lt", "params": [1]}}]}},
        ],
        "noDataState": "Alerting",
        "execErrState": "Alerting",
        "for": "2m",
        "labels": {"team": "aedfleet", "severity": "critical"},
        "annotations": {"summary": summary},
        "notification_settings": {"receiver": CONTACT_POINT},
    }  # fmt: skip


def rules(site: Site) -> dict[str, Any]:
    """provisioning/alerting/aedfleet.yaml: the contact point and the rule group."""
    a = site.alerts
    silent_s = a.heartbeat_s * a.missed_heartbeats  # a whole fleet this quiet is no cabinet
    snapshot_s = max(300, 3 * site.heartbeat_s)
    return {
        "apiVersion": 1,
        "contactPoints": [{
            "orgId": 1, "name": CONTACT_POINT,
            "receivers": [{"uid": "aedfleet-operators-webhook", "type": "webhook",
                           "settings": {"url": "${AEDFLEET_GRAFANA_ALERT_WEBHOOK}"},
                           "disableResolveMessage": False}],
        }],
        "groups": [{
            "orgId": 1, "name": GROUP, "folder": "AED fleet", "interval": "1m",
            "rules": [
                _rule(RULE_UIDS[0], "aedfleet: no telemetry from any cabinet",
                      'SELECT count("seq") FROM "telemetry" WHERE $timeFilter', silent_s,
                      f"No cabinet telemetry stored for {silent_s // 60} minutes: the "
                      "collector, the broker or InfluxDB is down, and aedfleet's own alerts "
                      "with it."),
                _rule(RULE_UIDS[1], "aedfleet: cabinet readiness not written",
                      'SELECT count("state") FROM "cabinet_state" WHERE $timeFilter',
                      snapshot_s,
                      f"No cabinet_state snapshot for {snapshot_s // 60} minutes: the "
                      "collector's alert engine has stopped; the ops room's boards are stale."),
            ],
        }],
    }  # fmt: skip
