"""What an update costs, printed for firmware/README.md (run with -s): an Ed25519 verify
under the unix port, the peak heap while a release downloads, and the flash two slots of the
ESP32 build take."""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aedfleet.firmware_release import LOADER
from aedfleet.firmware_tools import build, micropython_command, micropython_path
from aedfleet.services import LocalServices
from tests.firmware.ota_release import firmware_files, key_b64, sign
from tests.support.harness import operator_client

pytestmark = pytest.mark.micropython
HERE = Path(__file__).resolve().parent
LITTLEFS_BLOCK = 4096  # the ESP32 port's LittleFS block: a file takes whole blocks


def micropython(*argv: str) -> str:
    result = subprocess.run(
        [micropython_command(), *argv], capture_output=True, text=True, timeout=120,
        env={**os.environ, "MICROPYPATH": micropython_path()}, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    print(result.stderr, end="")
    return result.stdout.strip().splitlines()[-1]


def test_what_an_ed25519_verify_costs_on_the_unix_port(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    message = sign("1.2.0", firmware_files("1.2.0"), key).manifest
    (tmp_path / "manifest").write_bytes(message)
    raw = key.public_key().public_bytes_raw()
    argv = [str(HERE / "ota_verify_cost.py"), raw.hex(), str(tmp_path / "manifest")]
    ok, took_ms, module = micropython(*argv, key.sign(message).hex()).split()
    print(f"Ed25519 verify of a {len(message)} B manifest: {took_ms} ms, module {module} B")
    assert ok == "True"
    # the smallest heap it runs in, module and manifest included
    for kilobytes in (16, 24, 32, 48, 64, 96):
        try:
            micropython("-X", f"heapsize={kilobytes}K", *argv, key.sign(message).hex())
        except AssertionError:
            continue
        print(f"Ed25519 verify runs in a {kilobytes} KB heap")
        break


@pytest.mark.services
@pytest.mark.slow
def test_the_peak_heap_while_a_release_downloads(services: LocalServices, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    release = sign("1.2.1", firmware_files("1.2.1"), key)
    account = services.mosquitto.fleet_writer("ota-heap")
    cabinet = "ota-heap"
    publisher = operator_client(services, "ota-heap-pub")
    publisher.loop_start()
    config_topic = f"aed/v1/{cabinet}/config"
    offer = {"v": 1, "id": cabinet, "rev": 1, "fw": release.offer()}
    try:
        for topic, payload in [*release.chunks(), (config_topic, json.dumps(offer).encode())]:
            publisher.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)
        config = {
            "id": cabinet, "broker": services.mosquitto.url, "username": account,
            "password": services.mosquitto.password(account), "data_dir": str(tmp_path),
            "ota_key": key_b64(key),
        }  # fmt: skip
        (tmp_path / "config.json").write_text(json.dumps(config))
        after_boot, peak = micropython(
            str(HERE / "ota_download_heap.py"), str(tmp_path / "config.json")
        ).split()
    finally:
        publisher.publish(config_topic, b"", qos=1, retain=True).wait_for_publish(10)
        publisher.loop_stop()
        publisher.disconnect()
    print(f"heap after boot {after_boot} B; peak while downloading {peak} B "
          f"(+{int(peak) - int(after_boot)} B)")  # fmt: skip
    assert (tmp_path / "slot_a" / "app.py").read_bytes() == release.files["app.py"]


def test_the_flash_two_slots_take(tmp_path: Path) -> None:
    written = build(tmp_path)
    slot = [p for p in written if p.stem not in LOADER]
    loader = [p for p in written if p.stem in LOADER]
    blocks = sum(math.ceil(p.stat().st_size / LITTLEFS_BLOCK) for p in slot)
    loader_blocks = sum(math.ceil(p.stat().st_size / LITTLEFS_BLOCK) for p in loader)
    size = sum(p.stat().st_size for p in slot)
    print(f"one slot: {len(slot)} .mpy files, {size} B, {blocks * LITTLEFS_BLOCK} B in "
          f"{blocks} LittleFS blocks; two slots {2 * blocks * LITTLEFS_BLOCK} B; loader "
          f"{loader_blocks * LITTLEFS_BLOCK} B")  # fmt: skip
    assert blocks > 0
