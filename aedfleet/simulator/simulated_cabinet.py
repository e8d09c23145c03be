"""A simulated cabinet: the firmware's own App (firmware/app.py) on the simulated board
(firmware/board_sim.py), whose sensors read a simulated environment and whose clock is the
simulation's, speaking the real protocol over its own MQTT connection. A reset boots it again
as main.py does: slots.py picks the slot (a version on trial, or the known-good one after a
failed trial) and the App runs from that slot's code."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from aedfleet.simulator import connections, firmware
from aedfleet.simulator.clock import SimClock
from aedfleet.simulator.environment import Environment
from aedfleet.simulator.hostile import hostile_message
from aedfleet.simulator.scenario import FLAGS, READINGS, SWITCHES, Action, Hostile

DAY_MS: Final = 86_400_000
LOOK_S: Final = 0.01  # how often a step waiting for the firmware looks again


_Board: Any = firmware.board_sim.Board
REBOOT_S: Final = 0.1  # a reset's pause before the next boot


class BoardReset(Exception):  # noqa: N818 - what a reset is, not an error
    """The firmware reset the board (an update's restart, a trial's deadline). An Exception,
    not board_sim's SystemExit, which would end the simulation's event loop: the App's loops
    hand it on to run() like any failure, and the cabinet boots again."""


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

    def reset(self) -> None:
        raise BoardReset


class SimulatedCabinet:
    def __init__(
        self,
        cabinet_id: str,
        *,
        broker: str | Sequence[str],
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
        # one URL is the firmware's `broker`; several (a cluster's nodes) are its `brokers`
        brokers = {"broker": broker} if isinstance(broker, str) else {"brokers": list(broker)}
        self._settings = {
            "id": cabinet_id,
            **brokers,
            "username": cabinet_id,
            "password": password,
            "data_dir": str(data_dir),
            "prefix": prefix,
            **settings,
        }
        self.config = firmware.config.merge(self._settings)
        self._data = str(data_dir).rstrip("/") + "/"
        self.app: Any = None
        self.boots = 0
        self._on_trial = False  # this boot runs a new version on trial
        self.delivered = 0  # messages the broker acknowledged
        self.errors = 0  # failed connects, lost connections, failed publishes
        self._task: asyncio.Task[None] | None = None
        self._connections: list[asyncio.StreamWriter] = []  # what its firmware opened

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
        if self._task is None:
            self._boot()
        owner = connections.OWNER.set(self._connections)  # the task and the firmware's own
        try:
            self._task = asyncio.create_task(self._run())
        finally:
            connections.OWNER.reset(owner)

    def _boot(self) -> None:
        """main.py's start: the slot slots.py picks, and that slot's App. A board never
        updated has no slots.json and runs the firmware as flashed."""
        data = self._data
        slots = firmware.slots
        state = slots.load(data)
        before = json.dumps(state)
        slot, _rolled_back = slots.choose(state)
        if json.dumps(state) != before:
            slots.save(data, state)
        code = firmware.in_slot(Path(slots.folder(data, slot))) if slot else firmware.FACTORY
        self._on_trial = state["trial"] is not None
        self.config = code.config.merge(self._settings)
        self.boots += 1
        self.app = code.app.App(self.config, self.board, log=self._line)
        outbox = self.app.outbox
        remove = outbox.remove

        def delivered(seq: int) -> None:  # a message leaves the outbox only on PUBACK
            remove(seq)
            self.delivered += 1

        outbox.remove = delivered

    async def _run(self) -> None:
        """Run the App; a reset or a crash boots it again (main.py records a crash of a
        version on trial, so the next boot rolls it back)."""
        slots = firmware.slots
        while True:
            try:
                if self.app is None:
                    self._boot()
                await self.app.run()
                return
            except BoardReset:
                self._line("board: reset")
            except Exception as error:  # a bug ends in a reset, as on the board
                self._line(f"FATAL: {error!r}")
                if self._on_trial:
                    state = slots.load(self._data)
                    slots.end_trial(state, slots.TRIAL_CRASH)
                    slots.save(self._data, state)
            self.app = None
            await asyncio.sleep(REBOOT_S)

    async def stop(self) -> None:
        # CPython 3.11's wait_for can swallow a cancellation that meets a timeout (the
        # firmware waits with timeouts everywhere): cancel until the task is really done
        while self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.wait([self._task], timeout=0.1)
        if self.app is not None:
            await self.app.link.close()
        connections.close_all(self._connections)  # a reset ends every socket
        await asyncio.sleep(0)

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
