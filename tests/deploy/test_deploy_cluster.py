"""`aedfleet deploy --ha --node ...` (issue 25): the three nodes' folders it writes run as a
real NATS JetStream cluster, MQTT over TLS with the fleet's accounts, routes over mutual TLS.

The three "machines" are 127.0.0.1, .2 and .3 (all loopback on Linux). Each node's folder is
installed as if copied to its own machine's root: the only change is where its root is.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from click.testing import CliRunner
from paho.mqtt.enums import CallbackAPIVersion

from aedfleet.broker.accounts import COLLECTOR_USER, collector_accounts
from aedfleet.broker.errors import BrokerConfigError
from aedfleet.cli import main
from aedfleet.collector.config import load_config
from aedfleet.collector.topics import topic_for
from aedfleet.deploy.cluster import ClusterNode, check_nodes, parse_node
from aedfleet.deploy.layout import NATS_UNIT, NodeLayout
from aedfleet.services import ManagedProcess, free_port
from tests.deploy.staging import CABINETS, environment_file, run_deploy
from tests.support.harness import inventory_file, wait_for
from tests.support.nats_cluster import granted, nats_server_path

HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"


def _answers(host: str, port: int, path: str) -> bool:
    try:
        return httpx.get(f"http://{host}:{port}{path}", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _tls_client(ca: Path, account: str, password: str, host: str, port: int) -> mqtt.Client:
    connected = threading.Event()
    paho = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=account, clean_session=False)
    paho.username_pw_set(account, password)
    paho.tls_set_context(ssl.create_default_context(cafile=str(ca)))  # the name is checked
    paho.on_connect = lambda _c, _u, _f, code, _p: None if code.is_failure else connected.set()
    paho.connect(host, port)
    paho.loop_start()
    assert connected.wait(60), f"{account} could not connect to {host}:{port} over TLS"
    return paho


def test_nodes_are_three_or_five_each_with_its_own_name_and_address() -> None:
    assert parse_node("n1=10.0.0.1") == ClusterNode("n1", "10.0.0.1")
    for spec in ("n1", "=10.0.0.1", "n1=", "N 1=10.0.0.1", "n1=10.0.0.1:8883"):
        with pytest.raises(BrokerConfigError):
            parse_node(spec)
    three = [ClusterNode(f"n{i}", f"10.0.0.{i}") for i in range(1, 4)]
    check_nodes(three)
    for wrong in (three[:2], [*three, ClusterNode("n4", "10.0.0.4")],
                  [*three[:2], ClusterNode("n3", "10.0.0.1")]):  # fmt: skip
        with pytest.raises(BrokerConfigError):
            check_nodes(wrong)


@pytest.mark.slow
def test_the_nodes_it_writes_run_as_a_tls_cluster_with_the_fleets_accounts(
    tmp_path: Path,
) -> None:
    mqtt_port, route_port, monitor_port, client_port = (free_port() for _ in range(4))
    server = tmp_path / "server"
    nodes = ["--ha", *(f"--node=n{i + 1}={host}" for i, host in enumerate(HOSTS))]
    layout = run_deploy(server, *nodes, "--route-port", str(route_port), "--monitor-port",
                        str(monitor_port), "--client-port", str(client_port), "--nats-server",
                        nats_server_path(), tls_port=mqtt_port)  # fmt: skip

    # the collector's host: no Mosquitto, every node over TLS, the password in the environment
    secrets = environment_file(layout.environment)
    config = load_config(layout.collector_toml, secrets)
    assert config.mqtt.urls == [f"mqtts://{host}:{mqtt_port}" for host in HOSTS]
    assert config.mqtt.ca_file == str(layout.cluster_ca)
    assert not (layout.units / "aedfleet-mosquitto.service").exists()
    credentials = json.loads((server / "cluster" / "credentials.json").read_text())
    assert credentials[collector_accounts(COLLECTOR_USER)[0]] == secrets["AEDFLEET_MQTT_PASSWORD"]

    processes = []
    for index, host in enumerate(HOSTS):
        here = NodeLayout(server / "nodes" / f"n{index + 1}")
        conf = here.conf.read_text()
        assert not [p for p in credentials.values() if p in conf]  # bcrypt hashes only
        assert not (here.nats / "ca.key").exists()  # the CA's key stays with deploy
        unit = here.units / NATS_UNIT
        verified = subprocess.run([SYSTEMD_ANALYZE, "verify", str(unit)], capture_output=True,
                                  text=True, check=False)  # fmt: skip
        assert verified.returncode == 0, verified.stdout + verified.stderr
        # installed on its own machine: the same file with that machine's root
        installed = here.nats / "installed.conf"
        installed.write_text(conf.replace(str(server / "etc"), str(here.root / "etc"))
                             .replace(str(server / "var"), str(here.root / "var")))  # fmt: skip
        processes.append(ManagedProcess(
            f"nats n{index + 1}", [nats_server_path(), "-c", str(installed)],
            here.root / "nats.log", lambda h=host: _answers(h, monitor_port, "/varz"),  # type: ignore[misc]
        ))  # fmt: skip
    clients: list[mqtt.Client] = []
    try:
        for process in processes:
            process.start(timeout_s=60)
        for host in HOSTS:  # JetStream has its meta leader: the routes are up
            wait_for(lambda h=host: _answers(h, monitor_port, "/healthz"), 60, f"{host} healthy")
        varz = httpx.get(f"http://{HOSTS[0]}:{monitor_port}/varz", timeout=5).json()
        assert varz["cluster"]["tls_required"] and varz["cluster"]["tls_verify"]
        assert "tls_cert_not_after" in varz["mqtt"]  # and the clients below speak only TLS

        collector = _tls_client(layout.cluster_ca, collector_accounts(COLLECTOR_USER)[1],
                                secrets["AEDFLEET_MQTT_PASSWORD"], HOSTS[2], mqtt_port)  # fmt: skip
        clients.append(collector)
        received: list[str] = []
        collector.on_message = lambda _c, _u, message: received.append(message.topic)
        assert granted(collector, "aed/v1/+/event")
        assert not granted(collector, "aed/v1/+/config")

        cabinet = _tls_client(layout.cluster_ca, CABINETS[0], credentials[CABINETS[0]],
                              HOSTS[1], mqtt_port)  # fmt: skip
        clients.append(cabinet)
        assert not granted(cabinet, f"aed/v1/{CABINETS[1]}/config")
        cabinet.publish(topic_for(CABINETS[1], "event"), b"forged", qos=1).wait_for_publish(30)
        own = topic_for(CABINETS[0], "event")
        cabinet.publish(own, b'{"ev":"door_open"}', qos=1).wait_for_publish(30)
        wait_for(lambda: own in received, 60, "the cabinet's event at the collector")
        assert received == [own]  # the forged one never arrived
    finally:
        for paho in clients:
            paho.disconnect()
            paho.loop_stop()
        for process in processes:
            process.stop()


def test_two_collector_hosts_share_the_alert_store_and_take_turns(tmp_path: Path) -> None:
    """--alerts-store: the collector runs only while it holds the lease in that PostgreSQL
    (docs/ha.md); its password is the operator's, asked for in the environment and kept."""
    url = "postgresql://aedfleet@db1.example,db2.example/aedfleet?target_session_attrs=read-write"
    nodes = ["--ha", *(f"--node=n{i + 1}=10.0.0.{i + 1}" for i in range(3))]
    layout = run_deploy(tmp_path / "server", *nodes, "--alerts-store", url)
    secrets = environment_file(layout.environment)
    assert secrets["AEDFLEET_ALERTS_STORE_PASSWORD"] == ""  # the operator brings it
    filled = layout.environment.read_text().replace(
        "AEDFLEET_ALERTS_STORE_PASSWORD=", "AEDFLEET_ALERTS_STORE_PASSWORD=from-the-dba"
    )
    layout.environment.write_text(filled)
    run_deploy(tmp_path / "server", *nodes, "--alerts-store", url)  # an upgrade keeps it
    secrets = environment_file(layout.environment)
    assert secrets["AEDFLEET_ALERTS_STORE_PASSWORD"] == "from-the-dba"
    config = load_config(layout.collector_toml, secrets)
    assert config.alerts.store == url and config.ha.lease
    assert config.alerts.store_password == "from-the-dba"
    assert "from-the-dba" not in layout.collector_toml.read_text()


def test_ha_and_its_nodes_come_together(tmp_path: Path) -> None:
    inventory = inventory_file(tmp_path / "inventory.csv", CABINETS)
    base = ["deploy", "--inventory", str(inventory), "--out", str(tmp_path / "out"),
            "--hostname", "mqtt.example.org"]  # fmt: skip
    for extra in (["--ha"], ["--node", "n1=10.0.0.1"]):
        result = CliRunner().invoke(main, [*base, *extra])
        assert result.exit_code == 2 and "--ha takes the cluster's nodes" in result.output
