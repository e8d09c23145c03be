"""Alerts end to end: real Mosquitto, InfluxDB and collector; providers checked locally."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from click.testing import CliRunner
from paho.mqtt.enums import CallbackAPIVersion

from aedfleet.cli import main
from aedfleet.collector.clock import wall_ms
from aedfleet.collector.topics import topic_for
from aedfleet.influx_query import query
from aedfleet.services import LocalServices
from tests.support.fake_providers import (
    ALIYUN_KEY_ID,
    ALIYUN_SECRET,
    FakeAliyun,
    FakeTwilio,
    Script,
    twilio_collector_sections,
)
from tests.support.harness import CollectorProcess, operator_client, rows_so_far, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]
A = "bz-bc-001"
DUTY = "+8613700000001"
GUARDIAN = "+8613800000000"  # what tests.support.harness.inventory_file gives every cabinet
FAST = {
    "tick_ms": 200,
    "repeat_critical_s": 2,
    "opened_clear_s": 1,
    "resolve_hold_s": 1,
    "readiness_every_s": 1,
}


def twilio_config(fake: FakeTwilio, **notify: Any) -> dict[str, Any]:
    return {"alerts": FAST, **twilio_collector_sections(fake.url, [DUTY], **notify)}


class Cabinet:
    """Publishes a cabinet's messages (through the operator account) with fresh clocks."""

    def __init__(self, services: LocalServices, cabinet_id: str = A) -> None:
        self.cabinet_id = cabinet_id
        self.seq = 0
        self.client = operator_client(services, f"sim-{cabinet_id}-{time.time_ns()}")
        self.client.loop_start()
        # another test's last will must not make this cabinet look offline
        self.client.publish(
            topic_for(cabinet_id, "status"), b"", qos=1, retain=True
        ).wait_for_publish(5)

    def send(self, kind: str, body: str) -> None:
        self.seq += 1
        payload = (f'{{"v":1,"id":"{self.cabinet_id}",{body}"seq":{self.seq},'
                   f'"ts":{wall_ms()},"sync":true')  # fmt: skip
        extra = ""
        if '"ev":"door_close"' in body:
            extra = ',"open_s":5'
        elif '"ev":"aed_returned"' in body:
            extra = ',"out_s":60'
        elif '"ev":"maint_exit"' in body:
            extra = ',"dur_s":60'
        elif '"state":"online"' in body:
            extra = ',"fw":"1.0.0"'
        message = payload + extra + "}"
        self.client.publish(topic_for(self.cabinet_id, kind), message, qos=1).wait_for_publish(5)

    def event(self, name: str) -> None:
        self.send("event", f'"ev":"{name}",')

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio().running() as fake:
        yield fake


def bodies(fake: FakeTwilio, to: str | None = None) -> list[str]:
    return [r["body"] for r in fake.delivered() if to is None or r["to"] == to]


def repeats_for(fake: FakeTwilio, cabinet_id: str, since: int = 0) -> int:
    return sum(
        cabinet_id in r["body"] and "not yet acknowledged" in r["body"]
        for r in fake.delivered()[since:]
    )


def test_door_opening_texts_duty_and_guardian_repeats_until_ack_and_resolves(
    services: LocalServices, twilio: FakeTwilio, tmp_path: Path
) -> None:
    collector = CollectorProcess(services, tmp_path, database="alerts_door", ids=[A],
                                 **twilio_config(twilio))  # fmt: skip
    collector.process.start()
    cabinet = Cabinet(services)
    url = f"http://127.0.0.1:{collector.http_port}"
    try:
        cabinet.send("status", '"state":"online",')
        opened_at = time.monotonic()
        cabinet.event("door_open")
        wait_for(lambda: len(twilio.delivered()) >= 2, 10, "SMS to duty officer and guardian")
        first = twilio.delivered()[:2]
        assert {r["to"] for r in first} == {DUTY, GUARDIAN}
        assert all(r["at"] >= opened_at for r in first)  # how fast: bench.alert_latency
        assert "柜门被打开" in first[0]["body"] and "door opened" in first[0]["body"]
        assert "Cabinet bz-bc-001" in first[0]["body"]
        wait_for(lambda: len(bodies(twilio, DUTY)) >= 2, 10, "a repeat")
        assert "not yet acknowledged" in bodies(twilio, DUTY)[1]
        token = ["--token", collector.http_token, "--url", url]
        acked = CliRunner().invoke(main, ["alerts", "ack", A, "opened", *token])
        assert acked.exit_code == 0, acked.output
        after_ack = len(twilio.delivered())
        # no more repeats: a later alert's own repeats prove that time passed in the collector
        # (the dispatcher sends in order), so the absence is seen, not slept for
        sentinel = Cabinet(services, "bz-xx-997")  # not in the inventory: the duty officer only
        sentinel.event("door_open")
        wait_for(lambda: repeats_for(twilio, "bz-xx-997") >= 2, 30, "two sentinel repeats")
        assert repeats_for(twilio, A, since=after_ack) == 0
        acked = CliRunner().invoke(main, ["alerts", "ack", "bz-xx-997", "opened", *token])
        assert acked.exit_code == 0, acked.output
        sentinel.close()
        listed = CliRunner().invoke(main, ["alerts", "list", "--url", url])
        assert "acknowledged" in listed.output and "opened" in listed.output

        cabinet.event("aed_removed")
        cabinet.event("aed_returned")
        cabinet.event("door_close")
        wait_for(lambda: any("RESOLVED" in b for b in bodies(twilio, GUARDIAN)), 10, "resolved")
        wait_for(lambda: any("restocked" in b for b in bodies(twilio, DUTY)), 10, "restock")
        assert httpx.get(f"{url}/readiness").json()[A]["state"] == "not_ready"
        cabinet.event("maint_enter")
        cabinet.event("maint_exit")
        wait_for(
            lambda: httpx.get(f"{url}/readiness").json()[A]["state"] == "available",
            30, "available again after the technician's visit",
        )  # fmt: skip
        assert twilio.rejected == []
        opened = 'SELECT "summary", "kind" FROM "alert" WHERE "rule" = \'opened\''
        transitions = query(collector.influx_url, "alerts_door", opened)
        assert [row["kind"] for row in transitions][:2] == ["firing", "repeat"]
        readiness = 'SELECT last("state") FROM "readiness" GROUP BY "cabinet"'
        wait_for(
            lambda: query(collector.influx_url, "alerts_door", readiness)[0]["last"] == "available",
            10, "readiness stored",
        )  # fmt: skip
        sent = query(collector.influx_url, "alerts_door",
                     'SELECT count("attempts") FROM "notification" GROUP BY "outcome"')  # fmt: skip
        assert {row["outcome"] for row in sent} == {"sent"}
    finally:
        cabinet.close()
        collector.process.stop()


def test_one_offline_alert_per_outage_from_the_last_will(
    services: LocalServices, twilio: FakeTwilio, tmp_path: Path
) -> None:
    collector = CollectorProcess(
        services, tmp_path, database="alerts_offline", ids=[A],
        **{**twilio_config(twilio), "alerts": {**FAST, "broker_grace_s": 1, "offline_hold_s": 1}},
    )  # fmt: skip
    collector.process.start()
    will = f'{{"v":1,"id":"{A}","state":"offline","seq":1,"ts":{wall_ms()},"sync":true}}'
    device = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=A)
    device.username_pw_set(A, services.mosquitto.password(A))
    device.will_set(topic_for(A, "status"), will, qos=1, retain=True)
    device.connect(services.mosquitto.host, services.mosquitto.port, keepalive=2)
    device.loop_start()
    online = f'{{"v":1,"id":"{A}","state":"online","seq":2,"ts":{wall_ms()},"sync":true,"fw":"1"}}'
    device.publish(topic_for(A, "status"), online, qos=1, retain=True).wait_for_publish(5)
    readiness = f"http://127.0.0.1:{collector.http_port}/readiness"
    wait_for(lambda: A in httpx.get(readiness).json(), 30, "the collector hearing the cabinet")
    device.loop_stop()
    sock = device.socket()
    assert sock is not None
    sock.close()  # the connection is cut: no DISCONNECT, so the broker sends the will
    try:
        wait_for(lambda: any("offline" in b for b in bodies(twilio, DUTY)), 15, "offline SMS")
        # the collector keeps judging the silent cabinet: readiness stays written as offline
        # (every second) while no second offline alert comes
        offline_points = (
            f'SELECT count("state") FROM "readiness" WHERE "cabinet" = \'{A}\' '
            "AND \"state\" = 'offline'"
        )

        def judged_offline(times: int) -> bool:
            rows = rows_so_far(collector.influx_url, "alerts_offline", offline_points)
            return bool(rows) and int(rows[0]["count"]) >= times

        wait_for(lambda: judged_offline(4), 30, "the cabinet judged offline four times")
        back = Cabinet(services)
        back.send("status", '"state":"online",')
        wait_for(lambda: any("RESOLVED" in b for b in bodies(twilio, DUTY)), 10, "back online")
        back.close()
        firing = [b for b in bodies(twilio, DUTY) if "offline" in b and "RESOLVED" not in b]
        assert len(firing) == 1
    finally:
        collector.process.stop()


def test_a_restart_with_alerts_firing_sends_no_duplicate_and_repeats_resume(
    services: LocalServices, twilio: FakeTwilio, tmp_path: Path
) -> None:
    config = twilio_config(twilio)
    config["alerts"] = {**FAST, "repeat_critical_s": 6}
    collector = CollectorProcess(services, tmp_path, database="alerts_restart", ids=[A], **config)
    collector.process.start()
    cabinet = Cabinet(services)
    try:
        cabinet.event("door_open")
        wait_for(lambda: len(twilio.delivered()) == 2, 10, "the first two SMS")
        collector.process.stop()
        collector.process.start()
        wait_for(lambda: len(bodies(twilio, DUTY)) >= 2, 15, "the repeat after the restart")
        # nothing re-sent by the restart: what follows the first two SMS is the repeat
        after_restart = [r["body"] for r in twilio.delivered()[2:]]
        assert after_restart and all("not yet acknowledged" in b for b in after_restart)
    finally:
        cabinet.close()
        collector.process.stop()


def test_500_then_429_then_200_delivers_exactly_one_signed_aliyun_request(
    services: LocalServices, tmp_path: Path
) -> None:
    with FakeAliyun().running() as aliyun:
        aliyun.script = Script(500, 429, 200)
        config = {
            "alerts": {**FAST, "repeat_critical_s": 3600},  # one notification, retried
            "notify": {"sms_provider": "aliyun", "duty_officers": [DUTY], "quiet_hours": "",
                       "language": "zh"},
            "aliyun": {"access_key_id": ALIYUN_KEY_ID, "access_key_secret": ALIYUN_SECRET,
                       "sign_name": "红十字", "template_code": "SMS_123", "endpoint": aliyun.url},
        }  # fmt: skip
        stranger = "bz-xx-999"  # not in the inventory: only the duty officer is told
        collector = CollectorProcess(services, tmp_path, database="alerts_aliyun", ids=[A],
                                     **config)  # fmt: skip
        collector.process.start()
        cabinet = Cabinet(services, stranger)
        try:
            cabinet.event("tamper")  # audit-free, alert-free: proves nothing is sent for it
            cabinet.event("aed_removed")
            wait_for(lambda: len(aliyun.delivered()) >= 1, 30, "the delivery after retries")
            # no request after the success: the next one is a later notification
            cabinet.event("aed_returned")
            cabinet.event("door_close")
            wait_for(lambda: len(aliyun.delivered()) >= 2, 30, "a later notification")
            assert [r["answer"] for r in aliyun.requests][:4] == [500, 429, 200, 200]
            opened = f"{stranger}:opened:"
            firing = [
                r for r in aliyun.requests
                if r["out_id"].startswith(opened) and ":firing:" in r["out_id"]
            ]  # fmt: skip
            assert len(firing) == 3
            assert aliyun.rejected == []
            delivered = firing[-1]
            assert delivered["to"] == DUTY.removeprefix("+86")
            assert delivered["out_id"].startswith(f"{stranger}:opened:")
            assert "AED" in json.loads(delivered["param"])["text"]
        finally:
            cabinet.close()
            collector.process.stop()


def test_a_send_that_timed_out_is_not_sent_again(
    services: LocalServices, twilio: FakeTwilio, tmp_path: Path
) -> None:
    twilio.script = Script(3.0)  # hang past the client's timeout, every time
    config = twilio_config(twilio, timeout_s=1.0)
    stranger = "bz-xx-998"
    collector = CollectorProcess(services, tmp_path, database="alerts_timeout", ids=[A], **config)
    collector.process.start()
    cabinet = Cabinet(services, stranger)
    try:
        cabinet.event("door_open")
        wait_for(lambda: len(twilio.requests) >= 1, 10, "the one attempt")
        # two repeats later (each tried once), a retry of the first send would have come
        wait_for(
            lambda: sum("not yet acknowledged" in r["body"] for r in twilio.requests) >= 2,
            60, "two repeats",
        )  # fmt: skip
        firing = [r for r in twilio.requests if "not yet acknowledged" not in r["body"]]
        assert len(firing) == 1
        # every repeat is its own message, each tried once: the count is the number of sends
        failed = next(
            float(line.split()[1])
            for line in collector.metrics().splitlines()
            if line.startswith("aedfleet_collector_notifications_failed_total ")
        )
        assert 1 <= failed <= len(twilio.requests)
    finally:
        cabinet.close()
        collector.process.stop()
