"""Over-the-air updates on the ESP32 stand-ins under the real MicroPython unix port, against
the real Mosquitto: a release is signed with Ed25519 (as the server signs), published as
retained chunks and offered in the cabinet's retained config; the cabinet running today's
firmware from its root (the factory slot) pulls it into slot_a and boots it on trial."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aedfleet.firmware_tools import FIRMWARE_DIR, micropython_command
from aedfleet.services import LocalServices
from tests.firmware.esp32_board import DOOR_PIN, STAND_INS, Esp32Cabinet
from tests.firmware.ota_release import (
    CHUNK,
    Release,
    firmware_files,
    key_b64,
    sign,
)
from tests.support.harness import Recorder, operator_client, wait_for

pytestmark = [pytest.mark.services, pytest.mark.micropython, pytest.mark.slow]
FACTORY = "1.0.0"  # firmware/config.py FIRMWARE_VERSION: what the root of the flash runs
HOUR = 3_600_000


class OtaBench:
    """One cabinet on the stand-in board with its own account, a recorder of what it says,
    and a publisher of releases and configs."""

    def __init__(self, services: LocalServices, workdir: Path, name: str) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.cabinet = f"ota-{name}"
        # a harness account of its own (the session's broker has accounts for three cabinet
        # ids only); that a cabinet's own account may read releases and not write them is
        # test_every_cabinet_reads_releases_and_none_writes_them
        account = services.mosquitto.fleet_writer(f"ota-{name}")
        config = {
            "id": self.cabinet, "broker": services.mosquitto.url, "username": account,
            "password": services.mosquitto.password(account), "wifi_ssid": "RedCross",
            "keepalive_s": 5, "connect_timeout_ms": 2000, "ota_key": key_b64(self.key),
        }  # fmt: skip
        self.board = Esp32Cabinet(workdir, config, [[10 * HOUR, "end"]])
        self.recorder = Recorder(services, f"aed/v1/{self.cabinet}/#", client_id=f"rec-{name}")
        self.publisher = operator_client(services, f"pub-{name}")
        self.publisher.loop_start()

    def publish(self, messages: Iterable[tuple[str, bytes]]) -> None:
        for topic, payload in messages:
            self.publisher.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)

    def offer(self, release: Release) -> None:
        config = {"v": 1, "id": self.cabinet, "rev": 1, "fw": release.offer()}
        self.publish([(f"aed/v1/{self.cabinet}/config", json.dumps(config).encode())])

    def slots(self) -> dict[str, Any]:
        path = self.board.flash / "slots.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def events(self, name: str, **fields: Any) -> list[dict[str, Any]]:
        return [
            event
            for event in self.recorder.events(name)
            if all(event.get(key) == value for key, value in fields.items())
        ]

    def online(self, version: str) -> list[dict[str, Any]]:
        statuses = self.recorder.payloads("/status")
        return [s for s in statuses if s["state"] == "online" and s.get("fw") == version]

    def running(self) -> subprocess.Popen[str]:
        """A start of the board that the test ends (a power cut) once it saw what it awaited."""
        self.board.starts += 1
        return subprocess.Popen(
            [micropython_command(), str(STAND_INS / "start.py")],
            cwd=self.board.flash,
            env={
                **os.environ,
                "MICROPYPATH": f"{STAND_INS}:{FIRMWARE_DIR}:.frozen",
                "AEDFLEET_ESP32_WORLD": str(self.board.world),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def cut_power(self, process: subprocess.Popen[str]) -> str:
        process.kill()
        output, _ = process.communicate(timeout=30)
        with (self.board.workdir / "console.log").open("a") as log:
            log.write(f"--- start {self.board.starts} (power cut)\n{output}")
        return output

    def close(self) -> None:
        self.publish([(f"aed/v1/{self.cabinet}/config", b"")])
        self.publisher.loop_stop()
        self.publisher.disconnect()
        self.recorder.close()


@pytest.fixture
def bench(
    services: LocalServices, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[OtaBench]:
    name = request.node.name.removeprefix("test_")[:20].replace("_", "-").rstrip("-")
    made = OtaBench(services, tmp_path, name)
    try:
        yield made
    finally:
        made.close()


def test_an_update_applies_and_the_new_version_boots(bench: OtaBench) -> None:
    release = sign("1.1.0", firmware_files("1.1.0"), bench.key)
    bench.publish(release.chunks())
    bench.offer(release)
    first = bench.board.start()  # the factory version downloads, verifies, restarts into it
    assert first.returncode == 0, bench.board.console()
    assert [e["why"] for e in bench.board.events("reset")] == ["machine.reset"]
    assert bench.slots()["trial"] == "a" and bench.slots()["trial_fw"] == "1.1.0"
    for name, data in release.files.items():
        assert (bench.board.flash / "slot_a" / name).read_bytes() == data
    trial = bench.running()
    try:
        wait_for(lambda: bench.events("ota_applied", fw="1.1.0"), 60, "ota_applied 1.1.0")
        assert bench.online("1.1.0")
    finally:
        bench.cut_power(trial)
    assert bench.events("ota_started", fw="1.1.0")
    assert (bench.slots()["good"], bench.slots()["good_fw"]) == ("a", "1.1.0")


def _runs_until(bench: OtaBench, what: str, predicate: Any) -> None:
    board = bench.running()
    try:
        wait_for(predicate, 60, what)
    finally:
        bench.cut_power(board)


def test_a_file_that_does_not_match_its_hash_is_refused(bench: OtaBench) -> None:
    release = sign("1.1.1", firmware_files("1.1.1"), bench.key)
    chunks = list(release.chunks())
    damaged = [
        (topic, data[:100] + bytes([data[100] ^ 1]) + data[101:]) if topic.endswith("/link.py/2")
        else (topic, data)
        for topic, data in chunks
    ]  # fmt: skip
    bench.publish(damaged)
    bench.offer(release)
    _runs_until(bench, "ota_failed hash", lambda: bench.events("ota_failed", reason="hash"))
    assert bench.events("ota_failed")[0]["fw"] == "1.1.1"
    assert bench.online(FACTORY) and not bench.online("1.1.1")
    assert bench.slots().get("trial") is None
    assert not (bench.board.flash / "slot_a" / "link.py.part").exists()
    assert "machine.reset" not in [e["why"] for e in bench.board.events("reset")]


def test_a_release_signed_with_another_key_is_refused(bench: OtaBench) -> None:
    release = sign("1.1.2", firmware_files("1.1.2"), Ed25519PrivateKey.generate())
    bench.publish(release.chunks())
    bench.offer(release)
    _runs_until(
        bench, "ota_failed signature", lambda: bench.events("ota_failed", reason="signature")
    )
    assert bench.online(FACTORY) and bench.slots().get("trial") is None
    # nothing but the manifest was fetched, and that was thrown away
    assert list((bench.board.flash / "slot_a").iterdir()) == []


def test_a_release_that_raises_at_start_rolls_back_by_itself(bench: OtaBench) -> None:
    files = firmware_files("1.1.3")
    start = b"    async def run(self):\n"
    assert start in files["app.py"]
    files["app.py"] = files["app.py"].replace(
        start, start + b'        raise RuntimeError("this release cannot start")\n'
    )
    release = sign("1.1.3", files, bench.key)
    bench.publish(release.chunks())
    bench.offer(release)
    assert bench.board.start().returncode == 0, bench.board.console()  # fetched, restarting
    assert bench.board.start().returncode == 0, bench.board.console()  # the trial crashes
    assert "this release cannot start" in bench.board.console()
    assert [e["why"] for e in bench.board.events("reset")] == ["machine.reset"] * 2
    _runs_until(  # the next boot is the known-good version again, and says what happened
        bench,
        "the rollback",
        lambda: bench.events("ota_rolled_back", fw=FACTORY, **{"from": "1.1.3"}),
    )
    assert bench.events("ota_failed", fw="1.1.3", reason="trial_crash")
    assert bench.online(FACTORY)
    assert bench.slots()["good"] == "" and bench.slots()["failed_fw"] == "1.1.3"
    assert "SAFE MODE" not in bench.board.console()


def test_power_lost_mid_download_resumes_and_the_old_version_runs_meanwhile(
    bench: OtaBench,
) -> None:
    release = sign("1.1.4", firmware_files("1.1.4"), bench.key)
    held_back = [
        (t, d) for t, d in release.chunks() if "/app.py/" in t and int(t.rsplit("/")[-1]) >= 5
    ]
    bench.publish(c for c in release.chunks() if c not in held_back)
    bench.offer(release)
    part = bench.board.flash / "slot_a" / "app.py.part"
    # the broker has only the first five chunks of app.py: the download waits at the sixth
    _runs_until(
        bench, "app.py half fetched", lambda: part.exists() and part.stat().st_size == 5 * CHUNK
    )
    assert bench.slots().get("trial") is None  # nothing switched: the old version boots
    bench.publish(held_back)
    assert bench.board.start().returncode == 0, bench.board.console()
    assert "ota: app.py resumes at 5120" in bench.board.console()
    assert len(bench.online(FACTORY)) >= 2  # the old version ran on, before and after the cut
    assert bench.slots()["trial_fw"] == "1.1.4"
    _runs_until(bench, "ota_applied 1.1.4", lambda: bench.events("ota_applied", fw="1.1.4"))
    assert (bench.board.flash / "slot_a" / "app.py").read_bytes() == release.files["app.py"]


def test_a_release_that_never_reaches_the_broker_rolls_back_at_its_deadline(
    bench: OtaBench,
) -> None:
    files = firmware_files("1.1.5")
    connect = b"    async def connect(self, will_topic, will_payload):\n"
    assert connect in files["link.py"]
    files["link.py"] = files["link.py"].replace(connect, connect + b"        return False\n")
    release = sign("1.1.5", files, bench.key)
    bench.publish(release.chunks())
    bench.offer(release)
    config = json.loads((bench.board.flash / "config.json").read_text())
    (bench.board.flash / "config.json").write_text(json.dumps({**config, "ota_trial_s": 30}))
    assert bench.board.start().returncode == 0, bench.board.console()  # fetched, restarting
    assert bench.board.start().returncode == 0, bench.board.console()  # the trial, offline
    [_, deadline] = bench.board.events("reset")
    assert "ota: no broker within the trial; rolling back" in bench.board.console()
    assert deadline["why"] == "machine.reset"
    _runs_until(
        bench, "ota_failed trial_timeout",
        lambda: bench.events("ota_failed", fw="1.1.5", reason="trial_timeout"),
    )  # fmt: skip
    assert bench.events("ota_rolled_back", fw=FACTORY)


def test_safe_mode_keeps_the_link_and_takes_the_update_that_ends_it(bench: OtaBench) -> None:
    # five crashes in a row before this start: boot.py counts the sixth, main.py starts only
    # the link and the update path
    nvram = {"world_ms": 0, "cause": 2, "rtc_memory": "05"}  # machine.HARD_RESET
    (bench.board.world / "nvram.json").write_text(json.dumps(nvram))
    release = sign("1.1.6", firmware_files("1.1.6"), bench.key)
    bench.publish(release.chunks())
    bench.offer(release)
    assert bench.board.start().returncode == 0, bench.board.console()
    assert "SAFE MODE" in bench.board.console()
    assert bench.online(FACTORY) and bench.events("ota_started", fw="1.1.6")
    _runs_until(bench, "ota_applied 1.1.6", lambda: bench.events("ota_applied", fw="1.1.6"))
    second = bench.board.console().split("--- start 2")[1]
    assert "SAFE MODE" not in second  # the new version runs the whole application


def test_every_cabinet_reads_releases_and_none_writes_them(services: LocalServices) -> None:
    cabinet = "bz-zh-004"
    topic = "aed/v1/fw/9.9.9/app.py/0"
    publisher = operator_client(services, "release-writer")
    publisher.loop_start()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cabinet)
    client.username_pw_set(cabinet, services.mosquitto.password(cabinet))
    received: list[bytes] = []
    client.on_message = lambda _c, _u, message: received.append(bytes(message.payload))
    try:
        publisher.publish(topic, b"chunk", qos=1, retain=True).wait_for_publish(10)
        client.connect(services.mosquitto.host, services.mosquitto.port)
        client.loop_start()
        client.subscribe(topic, qos=1)
        wait_for(lambda: received == [b"chunk"], 10, "the retained chunk, read by a cabinet")
        client.publish(topic, b"forged", qos=1, retain=True).wait_for_publish(10)
        late = Recorder(services, topic, client_id="release-reader")
        try:
            wait_for(lambda: late.messages, 10, "the retained chunk")
            assert [payload for _t, _topic, payload, _r in late.messages] == [b"chunk"]
        finally:
            late.close()
    finally:
        publisher.publish(topic, b"", qos=1, retain=True).wait_for_publish(10)
        publisher.loop_stop()
        publisher.disconnect()
        client.loop_stop()
        client.disconnect()


def test_an_opened_cabinet_restarts_into_the_update_only_once_it_is_closed(
    services: LocalServices, tmp_path: Path
) -> None:
    bench = OtaBench(services, tmp_path, "opened")
    # the door opens a second into the run and is shut at 20 s (world time runs in real time
    # while the cabinet talks to the broker); the release is fetched well before that
    script = [[1000, "pin", DOOR_PIN, 1], [20_000, "pin", DOOR_PIN, 0], [10 * HOUR, "end"]]
    bench.board = Esp32Cabinet(tmp_path / "opened", bench.board.config, script)
    try:
        release = sign("1.1.7", firmware_files("1.1.7"), bench.key)
        bench.publish(release.chunks())
        bench.offer(release)
        assert bench.board.start().returncode == 0, bench.board.console()
        [reset] = bench.board.events("reset")
        assert reset["at"] >= 20_000, reset  # not while the door was open
        # the update was ready (the trial marked) before the door closed: the restart waited
        wait_for(lambda: bench.recorder.events("door_close"), 10, "door_close")
        [closed_at] = [at for at, topic, data, _r in bench.recorder.messages
                       if topic.endswith("/event") and b"door_close" in data]  # fmt: skip
        closed_wall = time.time() - (time.monotonic() - closed_at)
        assert (bench.board.flash / "slots.json").stat().st_mtime < closed_wall
        assert bench.slots()["trial_fw"] == "1.1.7"
        assert bench.events("ota_started", fw="1.1.7")
    finally:
        bench.close()
