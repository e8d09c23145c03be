"""Broker security against the real Mosquitto: authentication, per-cabinet ACL, TLS, rotation."""

from __future__ import annotations

import json
import socket
import ssl
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from click.testing import CliRunner
from paho.mqtt.enums import CallbackAPIVersion

from aedfleet.broker.accounts import COLLECTOR_USER
from aedfleet.broker.config import rotate
from aedfleet.broker.tls import make_tls
from aedfleet.cli import main
from aedfleet.collector.clock import wall_ms
from aedfleet.collector.topics import topic_for
from aedfleet.services import LocalServices
from tests.support.harness import (
    CollectorProcess,
    Recorder,
    count,
    inventory_file,
    operator_client,
    wait_for,
)

pytestmark = pytest.mark.services
A, B = "bz-bc-001", "bz-bc-002"


def connect(
    services: LocalServices,
    username: str | None,
    password: str | None,
    *,
    client_id: str = "",
    tls_ca: Path | None = None,
) -> tuple[mqtt.Client, str]:
    """Connect and return the client with the broker's answer ('Success' or why not)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"t-{time.time_ns()}")
    answer: list[str] = []
    client.on_connect = lambda _c, _u, _f, reason, _p: answer.append(str(reason))
    if username is not None:
        client.username_pw_set(username, password)
    port = services.mosquitto.port
    if tls_ca is not None:
        client.tls_set(ca_certs=str(tls_ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        port = services.mosquitto.tls_port
    client.connect(services.mosquitto.host, port)
    deadline = time.monotonic() + 5
    while not answer and time.monotonic() < deadline:
        client.loop(0.05)
    return client, answer[0] if answer else "no answer"


def close(client: mqtt.Client) -> None:
    client.disconnect()
    sock = client.socket()
    if sock is not None:
        sock.close()


def answer_for(
    services: LocalServices,
    username: str | None,
    password: str | None,
    *,
    client_id: str = "",
    tls_ca: Path | None = None,
) -> str:
    """The broker's answer to a connection attempt; the connection is closed either way."""
    client, answer = connect(services, username, password, client_id=client_id, tls_ca=tls_ca)
    close(client)
    return answer


def test_anonymous_and_wrong_password_are_refused(services: LocalServices) -> None:
    assert answer_for(services, None, None) == "Not authorized"
    assert answer_for(services, A, "not-the-password") == "Not authorized"
    assert answer_for(services, A, services.mosquitto.password(A), client_id=A) == "Success"


def test_a_cabinet_cannot_publish_for_another_and_the_collector_never_stores_it(
    services: LocalServices, tmp_path: Path
) -> None:
    collector = CollectorProcess(services, tmp_path, database="acl_spoof", ids=[A, B])
    collector.process.start()
    watcher = Recorder(services, "aed/v1/#", client_id="acl-watcher")
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=A)
    client.username_pw_set(A, services.mosquitto.password(A))
    client.connect(services.mosquitto.host, services.mosquitto.port)
    client.loop_start()
    try:
        now = wall_ms()
        spoof = (f'{{"v":1,"id":"{B}","ev":"door_open","seq":1,"ts":{now},"sync":true}}').encode()
        own = (f'{{"v":1,"id":"{A}","ev":"door_open","seq":2,"ts":{now},"sync":true}}').encode()
        client.publish(topic_for(B, "event"), spoof, qos=1).wait_for_publish(5)
        client.publish(topic_for(A, "event"), own, qos=1).wait_for_publish(5)
        wait_for(lambda: watcher.events("door_open"), 10, "the cabinet's own event")
        wait_for(
            lambda: count(collector.influx_url, "acl_spoof", "event") >= 1, 10, "A's event stored"
        )
        # the spoof was published first, on the same connection: had the broker let it
        # through, it would have arrived (and been stored) before A's own event
        assert [e["id"] for e in watcher.events("door_open")] == [A]
        assert count(collector.influx_url, "acl_spoof", "event", f"cabinet = '{B}'") == 0
        assert count(collector.influx_url, "acl_spoof", "event", f"cabinet = '{A}'") == 1
    finally:
        client.disconnect()
        client.loop_stop()
        watcher.close()
        collector.process.stop()


def test_a_cabinet_cannot_read_another_cabinets_config(services: LocalServices) -> None:
    received: list[str] = []
    spy, _ = connect(services, A, services.mosquitto.password(A), client_id=A)
    spy.on_message = lambda _c, _u, message: received.append(message.topic)
    spy.subscribe(topic_for(B, "config"), qos=1)
    spy.subscribe(topic_for(A, "config"), qos=1)
    operator = operator_client(services, "config-writer")
    operator.loop_start()
    for cabinet in (B, A):
        config = f'{{"v":1,"id":"{cabinet}","rev":1,"ts":{wall_ms()},"tele_s":300}}'
        operator.publish(topic_for(cabinet, "config"), config, qos=1).wait_for_publish(5)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        spy.loop(0.05)
    operator.disconnect()
    operator.loop_stop()
    close(spy)
    assert received == [topic_for(A, "config")]


def test_tls_with_the_generated_ca_works_and_a_foreign_ca_fails(
    services: LocalServices, tmp_path: Path
) -> None:
    files = services.mosquitto.files
    password = services.mosquitto.password(COLLECTOR_USER)
    user = COLLECTOR_USER
    assert answer_for(services, user, password, tls_ca=files.tls.ca_cert) == "Success"
    # a client that trusts another CA (an impostor's certificate chain) refuses this broker
    foreign = make_tls(tmp_path / "foreign", ["localhost"])
    context = ssl.create_default_context(cafile=str(foreign.ca_cert))
    address = (services.mosquitto.host, services.mosquitto.tls_port)
    with (
        socket.create_connection(address, timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        context.wrap_socket(raw, server_hostname="localhost")


def test_rotating_one_cabinet_changes_only_its_password(services: LocalServices) -> None:
    files = services.mosquitto.files
    old_a = services.mosquitto.password(A)
    password_b = services.mosquitto.password(B)
    other_lines = [line for line in files.passwd.read_text().splitlines() if not line.startswith(A)]
    rotate(files.directory, A)
    services.mosquitto.reload()
    new_a = services.mosquitto.password(A)
    assert new_a != old_a
    kept = [line for line in files.passwd.read_text().splitlines() if not line.startswith(A)]
    assert kept == other_lines
    assert answer_for(services, A, old_a) == "Not authorized"
    assert answer_for(services, A, new_a, client_id=A) == "Success"
    assert answer_for(services, B, password_b, client_id=B) == "Success"


def test_the_collector_stores_messages_it_received_over_tls(
    services: LocalServices, tmp_path: Path
) -> None:
    tls = {
        "url": f"mqtts://127.0.0.1:{services.mosquitto.tls_port}",
        "ca_file": str(services.mosquitto.files.tls.ca_cert),
    }
    collector = CollectorProcess(services, tmp_path, database="over_tls", ids=[A], mqtt=tls)
    collector.process.start()
    publisher = operator_client(services, "tls-publisher")
    publisher.loop_start()
    try:
        event = f'{{"v":1,"id":"{A}","ev":"tamper","seq":9,"ts":{wall_ms()},"sync":true}}'
        publisher.publish(topic_for(A, "event"), event, qos=1).wait_for_publish(5)
        wait_for(lambda: count(collector.influx_url, "over_tls", "event") == 1, 10, "the event")
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        collector.process.stop()


def test_no_generated_secret_appears_in_any_log_or_output(
    services: LocalServices, tmp_path: Path
) -> None:
    inventory = inventory_file(tmp_path / "inventory.csv", ["bz-bc-001", "bz-bc-002"])
    out = tmp_path / "broker"
    runner = CliRunner()
    generated = runner.invoke(main, ["broker", "config", "--inventory", str(inventory),
                                     "--out", str(out)])  # fmt: skip
    rotated = runner.invoke(main, ["broker", "rotate", "bz-bc-001", "--dir", str(out)])
    assert generated.exit_code == 0 and rotated.exit_code == 0, generated.output + rotated.output
    secrets = list(json.loads((out / "credentials.json").read_text()).values())
    secrets += list(json.loads(services.mosquitto.files.credentials_path.read_text()).values())
    # a collector that ran, connected, rejected bad input and stopped, with its log
    collector = CollectorProcess(services, tmp_path / "c", database="no_secrets", ids=[A])
    collector.process.start()
    publisher = operator_client(services, "secret-scan")
    publisher.loop_start()
    publisher.publish(topic_for(A, "event"), b"not json", qos=1).wait_for_publish(5)
    wait_for(lambda: "rejected message" in collector.log_path.read_text(), 10, "a log line")
    publisher.disconnect()
    publisher.loop_stop()
    collector.process.stop()
    texts = [generated.output, rotated.output, collector.log_path.read_text(),
             services.mosquitto.log_path.read_text()]  # fmt: skip
    assert len(secrets) >= 8
    for secret in secrets:
        assert all(secret not in text for text in texts)
