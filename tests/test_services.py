"""The service harness: real Mosquitto and InfluxDB that answer, and stop by PID only."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from aedfleet.broker.accounts import OPERATOR_USER
from aedfleet.dashboards.boards import DASHBOARDS
from aedfleet.services import LocalServices, Mosquitto, ServiceError, free_port, mqtt_answers
from tests.support.harness import operator_client, rows_so_far, wait_for

pytestmark = pytest.mark.services


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still has a PID until its parent reaps it
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_gone(pids: list[int], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


def test_influxdb_stores_and_returns_a_point(services: LocalServices) -> None:
    url = services.influxdb.url
    httpx.post(f"{url}/query", params={"q": "CREATE DATABASE harness"}).raise_for_status()
    written = httpx.post(
        f"{url}/write",
        params={"db": "harness", "precision": "ms"},
        content=b"probe,cabinet=bz-bc-001 temp_c=21.5 1795820400000",
    )
    assert written.status_code == 204
    rows = httpx.get(
        f"{url}/query", params={"db": "harness", "q": 'SELECT temp_c FROM "probe"'}
    ).json()
    assert rows["results"][0]["series"][0]["values"] == [["2026-11-27T23:00:00Z", 21.5]]


def test_mosquitto_delivers_a_retained_message(services: LocalServices) -> None:
    """On a topic of its own, cleared afterwards: the broker is shared with other tests, whose
    recorders would take a retained "online" of a real cabinet for its firmware's birth (CI saw
    one fail on it), as this test would take their cabinets' retained wills for its message."""
    topic = "aed/v1/harness-retained/status"
    publisher = operator_client(services, "harness-pub")
    publisher.loop_start()
    received: list[bytes] = []
    subscriber = operator_client(services, "harness-sub")
    try:
        publisher.publish(topic, b"online", qos=1, retain=True).wait_for_publish(5)
        subscriber.on_message = lambda _c, _u, message: received.append(bytes(message.payload))
        subscriber.subscribe(topic, qos=1)
        subscriber.loop_start()
        wait_for(lambda: received, 30, "the retained message")
        assert received == [b"online"]
    finally:
        publisher.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        for client in (publisher, subscriber):
            client.loop_stop()
            client.disconnect()


def test_stop_leaves_a_broker_it_did_not_start_running(tmp_path: Path) -> None:
    foreign_port = free_port()
    config = tmp_path / "foreign.conf"
    config.write_text(f"listener {foreign_port} 127.0.0.1\nallow_anonymous true\nuser root\n")
    foreign = subprocess.Popen(
        ["/usr/sbin/mosquitto", "-c", str(config)], stderr=subprocess.DEVNULL
    )
    try:
        ours = Mosquitto(tmp_path / "ours")
        ours.process.start()
        our_pid = ours.process.pid
        assert our_pid is not None and our_pid != foreign.pid
        ours.process.stop()
        assert _wait_gone([our_pid])
        assert foreign.poll() is None
        assert mqtt_answers("127.0.0.1", foreign_port)
    finally:
        foreign.terminate()
        foreign.wait()


def test_a_chosen_port_is_never_one_an_outgoing_connection_can_take() -> None:
    """CI once saw the demo's broker exit at start: a port from the kernel's ephemeral range can
    become the local end of any outgoing connection between the choice and the listener's bind."""
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    chosen = {free_port() for _ in range(200)}
    assert not [port for port in chosen if low <= port <= high]
    assert len(chosen) > 150  # chosen at random: two test workers do not pick alike


def test_a_service_that_cannot_start_says_why(tmp_path: Path) -> None:
    """Where CI shows only the error, the error carries the service's own reason."""
    broker = Mosquitto(tmp_path / "broker")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", broker.port))  # what an outgoing connection could have done
        with pytest.raises(ServiceError, match="Address already in use"):
            broker.process.start()


def test_services_die_with_a_killed_test_run(tmp_path: Path) -> None:
    # A test run killed outright (no finalizers) must not leave its services behind.
    script = (
        "import sys, time, pathlib\n"
        "from aedfleet.services import LocalServices\n"
        "s = LocalServices(pathlib.Path(sys.argv[1]))\n"
        "s.start()\n"
        "print(s.mosquitto.process.pid, s.influxdb.process.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    ) as runner:
        assert runner.stdout is not None
        pids = [int(pid) for pid in runner.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(pid) for pid in pids)
        runner.kill()
    assert _wait_gone(pids)


@pytest.mark.slow
def test_demo_runs_the_fleet_through_the_collector_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "aedfleet", "demo", "--workdir", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    ) as demo:
        try:
            lines = _demo_runs(demo, tmp_path)
        finally:
            if demo.poll() is None:
                demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0
    assert _wait_gone([int(line.split("(pid ")[1].rstrip(")\n")) for line in lines[:2]])


def _demo_runs(demo: subprocess.Popen[str], tmp_path: Path) -> list[str]:
    """The demo's first lines, once its services, Grafana folder and fleet are checked."""
    assert demo.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("Press Ctrl-C"):
        lines.append(demo.stdout.readline())
        assert lines[-1], lines  # the demo ended before saying how to stop it
    # the ops room's dashboards, ready for a Grafana to be pointed at
    grafana = tmp_path / "grafana"
    assert any(f"Grafana provisioning in {grafana}" in line for line in lines), lines
    assert (grafana / "provisioning" / "datasources" / "aedfleet.yaml").exists()
    boards = {p.stem for p in (grafana / "dashboards").glob("*.json")}
    assert boards == set(DASHBOARDS)  # the wall and coverage included
    mqtt_url, influx_url = (line.split()[1] for line in lines[:2])
    host, port = mqtt_url.removeprefix("mqtt://").split(":")
    operator = OPERATOR_USER
    credentials = json.loads((tmp_path / "mosquitto" / "broker" / "credentials.json").read_text())
    assert mqtt_answers(host, int(port), username=operator, password=credentials[operator])
    assert not mqtt_answers(host, int(port))  # anonymous
    assert httpx.get(f"{influx_url}/ping").status_code == 204
    # all 80 demo cabinets report through the real broker and collector into InfluxDB
    cabinets = 'SELECT count("batt_v") FROM "telemetry" GROUP BY "cabinet"'
    wait_for(lambda: len(rows_so_far(influx_url, "aedfleet", cabinets)) == 80, 60, "80 cabinets")
    return lines
