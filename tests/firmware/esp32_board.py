"""The ESP32 firmware (board_esp32.py, boot.py, main.py) under the real MicroPython unix port,
on the stand-ins in tests/firmware/esp32: a board whose pins, access point, sensor and time
the test scripts, and which starts again after a reset or deep sleep as the ESP32 does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aedfleet.firmware_tools import FIRMWARE_DIR, micropython_command

STAND_INS = Path(__file__).resolve().parent / "esp32"
# the default wiring at rest: door shut (reed closed, low), AED in (low), no key (high),
# mains present (low), tamper loop intact (low)
AT_REST = {25: 0, 26: 0, 27: 1, 14: 0, 13: 0}
DOOR_PIN = 25


@dataclass
class Esp32Cabinet:
    workdir: Path
    config: dict[str, Any]
    timeline: list[list[Any]] = field(default_factory=list)
    starts: int = 0

    def __post_init__(self) -> None:
        self.flash = self.workdir / "flash"
        self.world = self.workdir / "world"
        self.flash.mkdir(parents=True, exist_ok=True)
        self.world.mkdir(parents=True, exist_ok=True)
        for name in ("boot.py", "main.py"):
            shutil.copyfile(FIRMWARE_DIR / name, self.flash / name)
        config = {"data_dir": str(self.flash), **self.config}
        (self.flash / "config.json").write_text(json.dumps(config))
        rest = [[0, "pin", number, level] for number, level in AT_REST.items()]
        (self.world / "script.json").write_text(json.dumps({"timeline": rest + self.timeline}))

    def nvram(self) -> dict[str, Any]:
        path = self.world / "nvram.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        path = self.world / "events.jsonl"
        if not path.exists():
            return []
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        return [row for row in rows if kind is None or row["kind"] == kind]

    def start(self, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
        """One start of the board, until it resets, sleeps, ends the script or idles."""
        self._wake_from_sleep()
        self.starts += 1
        result = subprocess.run(
            [micropython_command(), str(STAND_INS / "start.py")],
            cwd=self.flash,
            env={
                **os.environ,
                "MICROPYPATH": f"{STAND_INS}:{FIRMWARE_DIR}:.frozen",
                "AEDFLEET_ESP32_WORLD": str(self.world),
            },
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        with (self.workdir / "console.log").open("a") as log:
            log.write(f"--- start {self.starts}\n{result.stdout}{result.stderr}")
        return result

    def console(self) -> str:
        path = self.workdir / "console.log"
        return path.read_text() if path.exists() else ""

    def _wake_from_sleep(self) -> None:
        """A sleeping board wakes at its timer or when the ext0 pin reaches its level."""
        nvram = self.nvram()
        until = nvram.pop("sleep_until", None)
        if until is None:
            return
        wake_at = until
        ext0 = nvram.get("wake_ext0")
        if ext0:
            for at, what, *args in sorted(
                json.loads((self.world / "script.json").read_text())["timeline"],
                key=lambda entry: entry[0],
            ):
                if nvram["world_ms"] < at < wake_at and what == "pin" and args == ext0:
                    wake_at = at
                    break
        nvram["world_ms"] = wake_at
        (self.world / "nvram.json").write_text(json.dumps(nvram))

    def power_cycle(self, at_ms: int) -> None:
        """Power off and on: RTC memory and RTC time are gone, the reset cause is power-on."""
        nvram = {"world_ms": at_ms, "cause": 1, "rtc_memory": "", "power_on_ms": at_ms}
        (self.world / "nvram.json").write_text(json.dumps(nvram))
