"""A simulated cabinet: the firmware's own App (firmware/app.py) on the simulated board
(firmware/board_sim.py), whose sensors read a simulated environment and whose clock is the
simulation's, speaking the real protocol over its own MQTT connection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from aedfleet.simulator import firmware
from aedfleet.simulator.clock import SimClock
from aedfleet.simulator.environment import Environment
from aedfleet.simulator.hostile import hostile_message
from aedfleet.simulator.scenario import FLAGS, READINGS, SWITCHES, Action, Hostile

DAY_MS: Final = 86_400_000
LOOK_S: Final = 0.01  # how often a step waiting for the firmware looks again


_Board: Any = firmware.board_sim.Board


class SimBoard(_Board):  # type: ignore[misc]  # the firmware's untyped MicroPython class
    """board_sim's Board whose sensors read the environment and whose calendar is the
    simulation's (ticks stay real: debounce, keepalive and timeouts are real-time)."""

    def __init__(self, clock: SimClock, environment: Environment) -> None:
        super().__init__(clock=self._epoch, commands=False)
        self._sim = clock
        self.environment = environment
        self.skew_ms = 0
        self.wifi = True

    def _epoch(self) -> int:
        return self._sim.now_ms() + self.skew_ms

    def temp_dc(self) -> int | None:
        return self.environment.temperature_dc(self._sim.now_ms(), self.heater)

    def battery_uv(self) -> int:
        self.battery_mv = self.environment.battery_mv(self._sim.now_ms())
        return int(super().battery_uv())

    def rssi(self) -> int:
        return self.environment.rssi(self._sim.now_ms())

    async def network_up(self) -> bool:
        return self.wifi


class SimulatedCabinet:
    def __init__(
        self,
        cabinet_id: str,
        *,
        broker: str,
        password: str,
        data_dir: Path,
        log: Callable[[str], None],
        clock: SimClock,
        environment: Environment,
        prefix: str = "aed",
        **settings: Any,
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.cabinet_id = cabinet_id
        self.clock = clock
        self.board = SimBoard(clock, environment)
        self._log = log
        self.config = firmware.config.merge(
            {
                "id": cabinet_id,
                "broker": broker,
                "username": cabinet_id,
                "password": password,
                "data_dir": str(data_dir),
                "prefix": prefix,
                **settings,
            }
        )
        self.app: Any = None
        self.delivered = 0  # messages the broker acknowledged
        self.errors = 0  # failed connects, lost connections, failed publishes
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self.app is not None and bool(self.app.link.connected)

    def _line(self, line: str) -> None:
        if line.startswith("link: ") and ("failed" in line or "lost" in line):
            self.errors += 1
        self._log(f"{self.cabinet_id} {line}")

    def start(self) -> None:
        """Boot the firmware: what was set before this (a skewed clock, a broken heater) is
        what it boots with."""
        self.app = firmware.app.App(self.config, self.board, log=self._line)
        outbox = self.app.outbox
        remove = outbox.remove

        def delivered(seq: int) -> None:  # a message leaves the outbox only on PUBACK
            remove(seq)
            self.delivered += 1

        outbox.remove = delivered
        self._task = asyncio.create_task(self.app.run())

    async def stop(self) -> None:
        # CPython 3.11's wait_for can swallow a cancellation that meets a timeout (the
        # firmware waits with timeouts everywhere): cancel until the task is really done
        while self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.wait([self._task], timeout=0.1)
        if self.app is not None:
            await self.app.link.close()

    def set(self, switch: str, value: bool) -> None:
        """Flip a simulated switch: door, aed, maint, mains, tamper."""
        self.board.set_input(switch, value)

    def took(self, switch: str, value: bool) -> bool:
        """Whether the firmware's debouncer has taken the switch's level (a cabinet not yet
        booted takes it at boot)."""
        return self.app is None or bool(self.app.debounce[switch].level == value)

    async def apply(self, action: Action, victim_id: str) -> None:
        """Carry out one scenario action on this cabinet (broker actions are the fleet's);
        returns once it reached the firmware: a switch once the firmware took its level, a
        hostile message once the broker acknowledged it."""
        now = self.clock.now_ms()
        name, value = action.name, action.value
        if action.kind == "ramp" or (action.kind == "set" and name in READINGS):
            self.board.environment.ramp(name, float(value), now, now + action.over_ms)
        elif action.kind == "publish":
            await self._publish_hostile(name, victim_id)  # type: ignore[arg-type]
        elif name in SWITCHES:
            self.set(name, bool(value))
            while not self.took(name, bool(value)):
                await asyncio.sleep(LOOK_S)
        elif name == "skew_days":
            self.board.skew_ms = int(float(value) * DAY_MS)
        elif name in FLAGS:
            await self._set_flag(name, bool(value))

    async def _set_flag(self, name: str, value: bool) -> None:
        if name == "wifi":
            self.board.wifi = value
            if not value and self.app is not None:
                await self.app.link.close()  # no DISCONNECT: the broker sends the last will
        elif name == "synced":
            self.board.synced = value
        else:
            setattr(self.board.environment, name, value)

    async def _publish_hostile(self, kind: Hostile, victim_id: str) -> None:
        """Publish until the broker acknowledged it: a link lost meanwhile (a fleet
        reconnecting after a broker restart) only delays it."""
        while True:
            while not self.connected:
                await asyncio.sleep(LOOK_S)
            topic, payload = hostile_message(
                kind, self.config["prefix"], self.cabinet_id, victim_id, self.board.epoch_ms()
            )
            if await self.app.link.publish(topic, payload, qos=1):
                return
