"""Issue 14 against the real Mosquitto and the real collector: no account can take over
another's session, no packet larger than the protocol's gets through, and each service account
may do only what it needs."""

from __future__ import annotations

import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from aedfleet.broker.accounts import COLLECTOR_USER, OPERATOR_USER, collector_accounts
from aedfleet.broker.config import max_packet_bytes
from aedfleet.collector.clock import wall_ms
from aedfleet.collector.topics import topic_for
from aedfleet.services import LocalServices
from tests.support.harness import CollectorProcess, Recorder, count, wait_for

pytestmark = pytest.mark.services
A, B = "bz-bc-001", "bz-bc-002"


class Client:
    """A paho client (MQTT 5, so the broker says why it refuses a publish) with what happened."""

    def __init__(self, services: LocalServices, username: str, client_id: str = "") -> None:
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.refusals: dict[int, int] = {}  # message id -> PUBACK reason code
        self.acked = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or username,
            protocol=mqtt.MQTTv5,
        )  # fmt: skip
        self.client.username_pw_set(username, services.mosquitto.password(username))
        self.client.on_connect = lambda *_: self.connected.set()
        self.client.on_disconnect = lambda *_: self.disconnected.set()
        self.client.on_publish = self._published
        self.client.connect(services.mosquitto.host, services.mosquitto.port)
        self.client.loop_start()
        assert self.connected.wait(10), f"{username} could not connect"

    def _published(self, _c: mqtt.Client, _u: object, mid: int, reason: object, _p: object) -> None:
        self.refusals[mid] = int(getattr(reason, "value", 0))
        self.acked.set()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """The broker's PUBACK reason code: below 128 accepted (16: nobody subscribed), 135
        not authorised."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        wait_for(lambda: info.mid in self.refusals, 10, f"the broker's answer to {topic}")
        return self.refusals[info.mid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def door_event(cabinet_id: str, seq: int) -> bytes:
    return (f'{{"v":1,"id":"{cabinet_id}","ev":"door_open","seq":{seq},"ts":{wall_ms()},'
            f'"sync":true}}').encode()  # fmt: skip


def test_a_cabinet_password_cannot_take_over_the_collectors_session(
    services: LocalServices, tmp_path: Path
) -> None:
    collector = CollectorProcess(services, tmp_path, database="takeover", ids=[A, B])
    collector.process.start()
    telemetry, events = collector_accounts(collector.account)
    # a street cabinet's password, and the client ids the collector connects with
    intruders = [Client(services, A, client_id=events), Client(services, A, client_id=telemetry)]
    sender = Client(services, B)
    try:
        for seq in range(10):
            assert sender.publish(topic_for(B, "event"), door_event(B, seq)) < 128
        wait_for(
            lambda: count(collector.influx_url, "takeover", "event") == 10, 30, "all 10 events"
        )
        assert "mqtt_reconnects_total 0.0" in collector.metrics()
        assert collector.health()["mqtt_connected"]
        log = services.mosquitto.log_path.read_text()
        assert f"Client {events} already connected" not in log
        assert f"Client {telemetry} already connected" not in log
    finally:
        for client in (*intruders, sender):
            client.close()
        collector.process.stop()


def test_a_20_mib_publish_is_refused_by_the_broker(services: LocalServices) -> None:
    watcher = Recorder(services, f"aed/v1/{A}/event", client_id="size-watcher")
    wait_for(watcher.client.is_connected, 10, "the watcher")
    big = Client(services, A)
    try:
        assert max_packet_bytes() < 2048
        big.client.publish(topic_for(A, "event"), b"x" * (20 * 1024 * 1024), qos=1)
        assert big.disconnected.wait(30), "the broker kept a client that sent 20 MiB"
        marker = Client(services, A)  # the same cabinet again, with a normal message
        assert marker.publish(topic_for(A, "event"), door_event(A, 1)) < 128
        wait_for(lambda: watcher.payloads("/event"), 10, "the normal message")
        assert [len(p) for _t, _topic, p, _r in watcher.messages] == [len(door_event(A, 1))]
        marker.close()
    finally:
        big.close()
        watcher.close()


def test_each_service_account_is_refused_where_its_acl_says(services: LocalServices) -> None:
    collector_user = COLLECTOR_USER
    config = f'{{"v":1,"id":"{A}","rev":7,"ts":{wall_ms()},"tele_s":300}}'.encode()
    refused = 135
    collector = Client(services, collector_user)
    events = Client(services, collector_accounts()[1])
    operator = Client(services, OPERATOR_USER)
    try:
        # the collector is read-only: no config, retained or not, and no cabinet's messages
        assert collector.publish(topic_for(A, "config"), config, retain=True) == refused
        assert events.publish(topic_for(A, "config"), config) == refused
        assert collector.publish(topic_for(A, "event"), door_event(A, 1)) == refused
        # the operator writes configs, but never speaks as a cabinet
        assert operator.publish(topic_for(A, "event"), door_event(A, 2)) == refused
        assert operator.publish(topic_for(A, "telemetry"), b"{}") == refused
        assert operator.publish(topic_for(A, "status"), b"{}") == refused
        assert operator.publish(topic_for(A, "config"), config) < refused
        # a cabinet still writes its own
        cabinet = Client(services, A)
        assert cabinet.publish(topic_for(A, "event"), door_event(A, 3)) < refused
        cabinet.close()
    finally:
        for client in (collector, events, operator):
            client.close()


def test_the_plain_listener_is_loopback_only_and_cabinets_get_tls_with_aead_ciphers(
    services: LocalServices,
) -> None:
    conf = services.mosquitto.files.conf.read_text()
    listeners = [line.split() for line in conf.splitlines() if line.startswith("listener ")]
    plain = [words for words in listeners if words[1] == str(services.mosquitto.port)]
    assert plain == [["listener", str(services.mosquitto.port), "127.0.0.1"]]
    assert "use_username_as_clientid true" in conf
    ciphers = next(line for line in conf.splitlines() if line.startswith("ciphers "))
    assert "CBC" not in ciphers and "SHA:" not in ciphers + ":" and "GCM" in ciphers
