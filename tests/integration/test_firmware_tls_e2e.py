"""The firmware under the real MicroPython unix port over TLS (mqtts://) to the real Mosquitto's
TLS listener that `aedfleet broker config` generates: the fleet CA pinned, the host name
checked. A foreign CA and a wrong host name are refused."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from aedfleet.broker.tls import ensure_tls, make_tls
from aedfleet.firmware_tools import micropython_command, micropython_path
from aedfleet.services import LocalServices, Mosquitto
from tests.support.harness import FirmwareProcess, Recorder, wait_for

pytestmark = [pytest.mark.services, pytest.mark.micropython]
CABINET = "bz-bc-001"
ROOT = Path(__file__).resolve().parents[2]


def tls_config(mosquitto: Mosquitto, host: str, ca: Path, **extra: Any) -> dict[str, Any]:
    return {
        "id": CABINET,
        "broker": f"mqtts://{host}:{mosquitto.tls_port}",
        "ca_file": str(ca),
        "username": CABINET,
        "password": mosquitto.password(CABINET),
        "debounce_ms": 10,
        "poll_ms": 5,
        "keepalive_s": 5,
        "connect_timeout_ms": 5000,
        **extra,
    }


def refused(firmware: FirmwareProcess) -> None:
    firmware.start()
    try:
        wait_for(lambda: "failed" in firmware.log(), 30, "the refused TLS connection")
        assert "link: connected" not in firmware.log()
    finally:
        firmware.kill()


def test_a_door_event_arrives_over_tls_with_the_fleet_ca(
    services: LocalServices, tmp_path: Path
) -> None:
    ca = services.mosquitto.files.tls.ca_cert
    recorder = Recorder(services, f"aed/v1/{CABINET}/#", client_id="tls-recorder")
    firmware = FirmwareProcess(tmp_path, **tls_config(services.mosquitto, "localhost", ca))
    firmware.start()
    try:
        wait_for(lambda: "link: connected" in firmware.log(), 30, "the TLS connection")
        wait_for(lambda: recorder.events("boot"), 10, "the boot event over TLS")
        firmware.send("door 1")
        wait_for(lambda: recorder.events("door_open"), 10, "door_open over TLS")
    finally:
        firmware.kill()
        recorder.close()


def test_a_broker_signed_by_another_ca_is_refused(services: LocalServices, tmp_path: Path) -> None:
    foreign = make_tls(tmp_path / "foreign", ["localhost"]).ca_cert
    config = tls_config(services.mosquitto, "localhost", foreign)
    refused(FirmwareProcess(tmp_path / "fw", **config))


def test_a_broker_whose_certificate_names_another_host_is_refused(tmp_path: Path) -> None:
    # the fleet CA, but the broker's certificate is for another name than the one dialled
    mosquitto = Mosquitto(tmp_path / "mosquitto", [CABINET])
    # the broker's certificate issued again by the same CA, for another name
    ensure_tls(mosquitto.files.tls.ca_cert.parent, ["broker.fleet.invalid"])
    mosquitto.process.start()
    try:
        ca = mosquitto.files.tls.ca_cert
        refused(FirmwareProcess(tmp_path / "fw", **tls_config(mosquitto, "127.0.0.1", ca)))
    finally:
        mosquitto.process.stop()


def test_what_tls_costs_on_the_unix_port(services: LocalServices, tmp_path: Path) -> None:
    """Connect time and heap held while connected, plain and TLS (printed for the README)."""
    mosquitto = services.mosquitto
    common = [CABINET, mosquitto.password(CABINET)]
    plain = run_micropython("tests/firmware/tls_cost.py", "127.0.0.1", str(mosquitto.port), *common)
    tls = run_micropython(
        "tests/firmware/tls_cost.py", "localhost", str(mosquitto.tls_port), *common,
        str(mosquitto.files.tls.ca_cert),
    )  # fmt: skip
    plain_ok, plain_ms, plain_heap = plain.split()
    tls_ok, tls_ms, tls_heap = tls.split()
    print(f"plain MQTT: {plain_ms} ms, {plain_heap} B held; TLS: {tls_ms} ms, {tls_heap} B held")
    assert plain_ok == tls_ok == "True"
    assert int(tls_heap) > int(plain_heap)
    boot = {
        name: run_micropython("tests/firmware/heap_after_boot.py", str(tmp_path / name), *extra)
        for name, extra in (("plain", []), ("tls", [str(mosquitto.files.tls.ca_cert)]))
    }
    print(f"heap after boot: plain {boot['plain']} B, TLS {boot['tls']} B")


def run_micropython(*argv: str) -> str:
    if "heap_after" in argv[0]:
        Path(argv[1]).mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [micropython_command(), *argv], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "MICROPYPATH": micropython_path()}, check=True,
    )  # fmt: skip
    return result.stdout.strip().splitlines()[-1]
