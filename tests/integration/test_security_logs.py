"""Issue 14, item 11, against the real collector: a cabinet cannot write a line of its own into
the collector's log; what it sent is logged escaped."""

from __future__ import annotations

from pathlib import Path

import pytest

from aedfleet.collector.clock import wall_ms
from aedfleet.collector.topics import topic_for
from aedfleet.services import LocalServices
from tests.support.harness import CollectorProcess, operator_client, wait_for

pytestmark = pytest.mark.services
A = "bz-bc-001"
FORGED = "2026-12-01 08:00:00,000 WARNING aedfleet.alerts: alert resolved bz-bc-001 opened"


def test_a_crafted_payload_is_logged_escaped(services: LocalServices, tmp_path: Path) -> None:
    client = operator_client(services, "log-forger")
    client.loop_start()
    # the broker is shared: what other tests' cabinets left retained reaches this collector too
    # (a cabinet not in its inventory, so rejected and logged), as CI saw
    other = topic_for("zz-left-behind", "status")
    client.publish(other, b'{"online":true}', qos=1, retain=True).wait_for_publish(5)
    collector = CollectorProcess(services, tmp_path, database="log_forging", ids=[A])
    collector.process.start()
    ours = f"rejected message on {topic_for(A, 'event')}"
    try:
        for field in (f'"ev":"door_open\\n{FORGED}"', f'"ev":"door_open","\\r\\n{FORGED}":1'):
            payload = f'{{"v":1,"id":"{A}",{field},"seq":1,"ts":{wall_ms()},"sync":true}}'
            client.publish(topic_for(A, "event"), payload, qos=1).wait_for_publish(5)
        wait_for(lambda: collector.log_path.read_text().count(ours) == 2, 60,
                 "both rejections logged")  # fmt: skip
        lines = collector.log_path.read_text().splitlines()
        assert not [line for line in lines if line.startswith(FORGED[:19])]
        assert sum("\\x0a" + FORGED in line for line in lines) == 2
    finally:
        client.publish(other, b"", qos=1, retain=True).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()
        collector.process.stop()
