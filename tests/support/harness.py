"""Helpers for tests and benchmarks against the real services: a collector process, publishers,
queries."""

from __future__ import annotations

import asyncio
import datetime
import itertools
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from aedfleet.collector.inventory import Cabinet, write_inventory
from aedfleet.collector.topics import topic_for
from aedfleet.firmware_tools import FIRMWARE_DIR, micropython_command, micropython_path
from aedfleet.influx_query import InfluxQLError, query
from aedfleet.services import LocalServices, ManagedProcess, free_port


def operator_client(
    services: LocalServices, client_id: str, *, connect: bool = True, clean_session: bool = True
) -> mqtt.Client:
    """A paho client that may read and write the whole fleet, as a simulator: an account of the
    harness's own per client id (the broker takes the account as the client id)."""
    account = services.mosquitto.fleet_writer(client_id)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=account, clean_session=clean_session
    )
    client.username_pw_set(account, services.mosquitto.password(account))
    if connect:
        client.connect(services.mosquitto.host, services.mosquitto.port)
    return client


def cabinet_ids(count: int) -> list[str]:
    return [f"test-{number:05d}" for number in range(count)]


def inventory_file(path: Path, ids: list[str]) -> Path:
    write_inventory(
        path,
        [
            Cabinet(
                id=cabinet_id,
                name=f"Cabinet {cabinet_id}",
                site=f"Site {number % 7}",
                district=["Bincheng", "Zhanhua", "Huimin"][number % 3],
                address="1 Test Road",
                lat=37.38,
                lon=117.97,
                access_hours="24/7",
                guardian_name="Guardian",
                guardian_phone="+8613800000000",
                technician_phone="+8613900000000",
                aed_model="Test AED",
                install_date=datetime.date(2025, 1, 1),
            )
            for number, cabinet_id in enumerate(ids)
        ],
    )
    return path


def collector_toml(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    """A collector configuration of these sections (values as JSON, which TOML reads)."""
    path.write_text(
        "\n".join(
            f"[{name}]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in values.items())
            for name, values in sections.items()
        )
    )
    return path


class CollectorProcess:
    """`aedfleet collect` as a real child process with its own config, database and spool."""

    def __init__(
        self, services: LocalServices, workdir: Path, *, database: str, ids: list[str], **extra: Any
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.database = database
        self.ready_when: Literal["subscribed", "answering"] = "subscribed"
        self.http_port = free_port()
        self.influx_url = services.influxdb.url
        # its own broker accounts, so its persistent session is no other test's
        self.account = services.mosquitto.collector_account(database.replace("_", "-"))
        self.http_token = secrets.token_urlsafe(24)
        sections: dict[str, dict[str, Any]] = {
            "mqtt": {"url": services.mosquitto.url, "username": self.account},
            "influx": {"url": services.influxdb.url, "database": database},
            "spool": {"dir": str(workdir / "spool")},
            "fleet": {"inventory": str(inventory_file(workdir / "inventory.csv", ids))},
            "http": {"listen": f"127.0.0.1:{self.http_port}"},
            "alerts": {"state_dir": str(workdir / "state")},
        }
        for name, values in extra.items():
            sections.setdefault(name, {}).update(values)
        config = collector_toml(workdir / "collector.toml", sections)
        self.process = ManagedProcess(
            "collector",
            [sys.executable, "-m", "aedfleet", "collect", "--config", str(config)],
            workdir / "collector.log",
            self._connected,
            # the secret travels in the environment, as in production
            env={
                "AEDFLEET_MQTT_PASSWORD": services.mosquitto.password(self.account),
                "AEDFLEET_HTTP_TOKEN": self.http_token,
            },
        )
        self.log_path = workdir / "collector.log"

    def _connected(self) -> bool:
        """Subscribed, not only connected: a test's first publish must not race the SUBACK
        (before it, the broker keeps nothing for a new session). A benchmark asks only that
        the HTTP API answers (it is served before the sources start): a persistent session's
        backlog arrives before the SUBACK, and its drain is what the benchmark times."""
        try:
            health = self.health()
        except (httpx.HTTPError, ValueError):
            return False
        return self.ready_when == "answering" or bool(health["mqtt_subscribed"])

    def health(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(
            f"http://127.0.0.1:{self.http_port}/healthz", timeout=2
        ).json()
        return answer

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.http_port}/metrics", timeout=2).text


def rows_so_far(influx_url: str, database: str, influxql: str) -> list[dict[str, Any]]:
    """The query's rows, or none while the collector has not yet created the database."""
    try:
        return query(influx_url, database, influxql)
    except InfluxQLError as error:
        if "database not found" in str(error):
            return []
        raise


def count(influx_url: str, database: str, measurement: str, where: str = "") -> int:
    clause = f" WHERE {where}" if where else ""
    rows = rows_so_far(influx_url, database, f'SELECT count("seq") FROM "{measurement}"{clause}')
    return int(rows[0]["count"]) if rows else 0


def wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


TWO_YEARS_S = 2 * 365 * 86_400


async def until(
    predicate: Any, timeout_s: float, what: str, *, in_thread: bool = False, every_s: float = 0.01
) -> None:
    """wait_for inside an event loop: await a condition up to a generous deadline.
    `in_thread`: the predicate blocks (it asks a server), so it runs in a thread and the
    loop's own tasks go on meanwhile."""
    deadline = time.monotonic() + timeout_s
    while not (await asyncio.to_thread(predicate) if in_thread else predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(every_s)


def telemetry_payload(cabinet_id: str, seq: int, ts_ms: int) -> bytes:
    """A realistic ~230-byte telemetry message in wire order; its pads expire two years after
    `ts_ms`, so no run, whatever its date, raises expiry alerts for the whole stream."""
    pad_exp = datetime.date.fromtimestamp(ts_ms // 1000 + TWO_YEARS_S).isoformat()
    return (
        f'{{"v":1,"id":"{cabinet_id}","seq":{seq},"ts":{ts_ms},"sync":true,"door":false,'
        f'"aed":true,"maint":false,"mains":true,"batt_mv":{12000 + seq % 900},'
        f'"temp_dc":{150 + seq % 100},"heater":false,"rssi":-{50 + seq % 40},"reconn":0,'
        f'"up_s":{seq * 300},"mem":91000,"drop":0,"fw":"1.0.0","pad_exp":"{pad_exp}"}}'
    ).encode()


def telemetry_stream(
    ids: list[str], per_cabinet: int, start_ms: int, first_seq: int = 0
) -> Iterator[tuple[str, bytes]]:
    """Round-robin over the cabinets, one reading a second each from `start_ms`, numbered from
    `first_seq`; every message has its own (cabinet, ts) identity."""
    for n in range(per_cabinet):
        for cabinet_id in ids:
            yield (
                topic_for(cabinet_id, "telemetry"),
                telemetry_payload(cabinet_id, first_seq + n, start_ms + n * 1000),
            )


class Publisher:
    """One paho connection publishing QoS 1 as fast as the broker acknowledges."""

    def __init__(self, services: LocalServices, client_id: str = "test-publisher") -> None:
        self.client = operator_client(services, client_id, connect=False)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.connect(services.mosquitto.host, services.mosquitto.port)
        self.client.loop_start()

    def publish_all(self, messages: Iterator[tuple[str, bytes]], qos: int = 1) -> int:
        sent = 0
        # paho numbers in-flight messages with 16 bits: wait before the numbers come round
        while chunk := list(itertools.islice(messages, 20_000)):
            pending = [self.client.publish(topic, payload, qos=qos) for topic, payload in chunk]
            for info in pending:
                info.wait_for_publish(120)
            sent += len(pending)
        return sent

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class FirmwareProcess:
    """The firmware's main.py under the real MicroPython unix port with the simulated board,
    driven through stdin ("door 1", "pulse 20") and logging to a file."""

    def __init__(self, workdir: Path, **config: Any) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.config_path = workdir / "config.json"
        self.log_path = workdir / "firmware.log"
        self.config = {"data_dir": str(workdir), **config}
        self.config_path.write_text(json.dumps(self.config))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [micropython_command(), str(FIRMWARE_DIR / "main.py"), str(self.config_path)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "MICROPYPATH": micropython_path()},
            )

    def send(self, command: str) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(command.encode() + b"\n")
        self.process.stdin.flush()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean disconnect, so the broker publishes the last will."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process = None


class Recorder:
    """A subscriber that keeps every message it receives, with its arrival time."""

    def __init__(self, services: LocalServices, topic: str, client_id: str = "recorder") -> None:
        self.messages: list[tuple[float, str, bytes, bool]] = []
        self._lock = threading.Lock()
        self.client = operator_client(services, client_id, connect=False)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, _u, _f, _r, _p: c.subscribe(topic, qos=1)
        subscribed = threading.Event()
        self.client.on_subscribe = lambda _c, _u, _m, _r, _p: subscribed.set()
        self.client.connect(services.mosquitto.host, services.mosquitto.port)
        self.client.loop_start()
        # what a test publishes next must not race the subscription: wait for the SUBACK
        if not subscribed.wait(30):
            self.close()
            raise AssertionError(f"the recorder's subscription to {topic} was not acknowledged")

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(
                (time.monotonic(), message.topic, bytes(message.payload), message.retain)
            )

    def payloads(self, kind: str, *, live: bool = False) -> list[dict[str, Any]]:
        """The payloads on topics ending in `kind`; `live`: only what was published while
        subscribed, not a retained message of an earlier test on the shared broker (a
        cabinet's last will is retained)."""
        with self._lock:
            return [json.loads(p) for _t, topic, p, retained in self.messages
                    if topic.endswith(kind) and not (live and retained)]  # fmt: skip

    def events(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.payloads("/event") if e.get("ev") == name]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
