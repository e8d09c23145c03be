"""`aedfleet firmware rollout`'s driver against cabinets running the real firmware on the
ESP32 stand-ins under the MicroPython unix port, through the real Mosquitto: each board
restarts when it resets, as a board does. A good release reaches all three wave by wave; a
release that fails its trial halts after the first wave, whose cabinet rolls back, and the
others never receive it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aedfleet.broker.accounts import OPERATOR_USER
from aedfleet.cli import main
from aedfleet.firmware_tools import FIRMWARE_DIR, micropython_command
from aedfleet.rollout import driver, plan
from aedfleet.rollout.store import RolloutStore
from aedfleet.services import LocalServices
from tests.firmware.esp32_board import STAND_INS, Esp32Cabinet
from tests.firmware.ota_release import firmware_files, key_b64, sign
from tests.support.harness import Recorder, wait_for

pytestmark = [pytest.mark.services, pytest.mark.micropython, pytest.mark.slow]
HOUR = 3_600_000


class Fleet:
    """Boards that start again whenever they reset, until the test stops them."""

    def __init__(self, services: LocalServices, workdir: Path, ids: list[str]) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.boards: dict[str, Esp32Cabinet] = {}
        for cabinet in ids:
            account = services.mosquitto.fleet_writer(cabinet)
            config = {
                "id": cabinet, "broker": services.mosquitto.url, "username": account,
                "password": services.mosquitto.password(account), "wifi_ssid": "RedCross",
                "keepalive_s": 5, "connect_timeout_ms": 2000, "ota_key": key_b64(self.key),
            }  # fmt: skip
            self.boards[cabinet] = Esp32Cabinet(workdir / cabinet, config, [[10 * HOUR, "end"]])
        self.recorder = Recorder(services, "aed/v1/+/+", client_id=f"rollout-rec-{ids[0]}")
        self._running: dict[str, subprocess.Popen[str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._supervise, daemon=True)

    def _start(self, board: Esp32Cabinet) -> subprocess.Popen[str]:
        board.starts += 1
        return subprocess.Popen(
            [micropython_command(), str(STAND_INS / "start.py")],
            cwd=board.flash,
            env={
                **os.environ,
                "MICROPYPATH": f"{STAND_INS}:{FIRMWARE_DIR}:.frozen",
                "AEDFLEET_ESP32_WORLD": str(board.world),
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def _supervise(self) -> None:
        while not self._stop.is_set():
            for cabinet, board in self.boards.items():
                process = self._running.get(cabinet)
                if process is None or process.poll() is not None:
                    self._running[cabinet] = self._start(board)
            self._stop.wait(0.2)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        for process in self._running.values():
            process.kill()
            process.wait(10)
        self.recorder.close()

    def online_with(self, cabinet: str, version: str) -> bool:
        return any(
            s["state"] == "online" and s.get("fw") == version and s["id"] == cabinet
            for s in self.recorder.payloads("/status")
        )

    def events(self, name: str) -> list[dict[str, object]]:
        return self.recorder.events(name)


@pytest.fixture
def fleet(
    services: LocalServices, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Fleet]:
    tag = "g" if "good" in request.node.name else "b"
    made = Fleet(services, tmp_path, [f"rollout-{tag}{n}" for n in range(3)])
    made.start()
    try:
        for cabinet in made.boards:
            wait_for(lambda c=cabinet: made.online_with(c, "1.0.0"), 60, f"{cabinet} online")
        yield made
    finally:
        made.stop()


def drive(services: LocalServices, fleet: Fleet, rollout: plan.Rollout, version: str,
          files: dict[str, bytes], state_dir: Path) -> plan.Rollout:  # fmt: skip
    release = sign(version, files, fleet.key)
    mosquitto = services.mosquitto
    broker = driver.Broker(
        mosquitto.host, mosquitto.port, OPERATOR_USER, mosquitto.password(OPERATOR_USER)
    )
    store = RolloutStore(state_dir)
    try:
        run = driver.Driver(rollout, release, store, broker, log=lambda _line: None)
        return asyncio.run(asyncio.wait_for(run.run(tick_s=0.5, settle_s=1.0), 300))
    finally:
        store.close()


def sites(fleet: Fleet) -> list[plan.Site]:
    return [plan.Site(c, "bincheng", 37.0 + n, 117.0) for n, c in enumerate(fleet.boards)]


def test_a_good_release_reaches_every_cabinet_in_waves(
    services: LocalServices, fleet: Fleet, tmp_path: Path
) -> None:
    rollout = plan.Rollout("2.0.0", plan.plan_waves(sites(fleet)), plan.Policy(soak_s=2))
    finished = drive(services, fleet, rollout, "2.0.0", firmware_files("2.0.0"), tmp_path / "st")
    assert finished.phase == plan.DONE, finished.reason
    assert [len(wave) for wave in finished.waves] == [1, 1, 1]
    for cabinet in fleet.boards:
        assert fleet.online_with(cabinet, "2.0.0")
    applied = [e["id"] for e in fleet.events("ota_applied")]
    assert applied == [wave[0] for wave in finished.waves]  # one wave after the other
    status = CliRunner().invoke(
        main, ["firmware", "rollout", "status", "--state-dir", str(tmp_path / "st")]
    )
    assert status.exit_code == 0, status.output
    assert "rollout 2.0.0: done" in status.output and "versions: 2.0.0 3" in status.output


def test_a_release_that_fails_its_trial_halts_after_the_first_wave(
    services: LocalServices, fleet: Fleet, tmp_path: Path
) -> None:
    files = firmware_files("2.0.1")
    start = b"    async def run(self):\n"
    files["app.py"] = files["app.py"].replace(
        start, start + b'        raise RuntimeError("this release cannot start")\n'
    )
    rollout = plan.Rollout("2.0.1", plan.plan_waves(sites(fleet)), plan.Policy(soak_s=2))
    finished = drive(services, fleet, rollout, "2.0.1", files, tmp_path / "st")
    assert finished.phase == plan.HALTED
    assert finished.reason == "wave 1: 1 of 1 failed (trial_crash); threshold 0"
    [first] = finished.waves[0]
    wait_for(lambda: fleet.online_with(first, "1.0.0") and fleet.events("ota_rolled_back"),
             60, "the first wave's rollback")  # fmt: skip
    assert [e["id"] for e in fleet.events("ota_started")] == [first]
    for cabinet in fleet.boards:
        assert not fleet.online_with(cabinet, "2.0.1")
