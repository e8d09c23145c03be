"""Runs a planned fleet: one SimulatedCabinet per planned cabinet, each with its own MQTT
connection, driven through its scenario's timeline on the simulation's clock."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Final, NamedTuple, TextIO

from simulator.cabinet import SimulatedCabinet
from simulator.clock import SimClock
from simulator.demo_fleet import is_outdoor
from simulator.environment import Environment
from simulator.fleet import PlannedCabinet
from simulator.scenario import Action

# a fleet powering up is spread out, as after a district outage; 1,000/s overloads 2 cores
CONNECTS_PER_S: Final = 250
POLL_MS: Final = 1000  # the simulated board wakes at once on a switch change (like the IRQ)


class FleetStats(NamedTuple):
    cabinets: int
    connected: int
    delivered: int  # messages the broker acknowledged
    errors: int  # failed connects, lost connections, failed publishes


class FleetRunner:
    def __init__(
        self,
        plan: list[PlannedCabinet],
        *,
        broker_url: str,
        password_of: Callable[[str], str],
        clock: SimClock,
        workdir: Path,
        telemetry_s: int,
        restart_broker: Callable[[float], Coroutine[Any, Any, None]] | None = None,
        connects_per_s: float = CONNECTS_PER_S,
        poll_ms: int = POLL_MS,
        **firmware: Any,
    ) -> None:
        self.plan = plan
        self.clock = clock
        self._restart_broker = restart_broker
        self._connects_per_s = connects_per_s
        self._log: TextIO = (workdir / "fleet.log").open("a", encoding="utf-8")
        self.cabinets = {
            planned.cabinet.id: SimulatedCabinet(
                planned.cabinet.id,
                broker=broker_url,
                password=password_of(planned.cabinet.id),
                data_dir=workdir / "fleet" / planned.cabinet.id,
                log=self._write_log,
                clock=clock,
                environment=Environment(
                    random.Random(planned.seed),
                    indoor=not is_outdoor(planned.cabinet),
                    start_ms=clock.start_ms,
                ),
                telemetry_s=telemetry_s,
                poll_ms=poll_ms,
                **planned.firmware,
                **firmware,
            )
            for planned in plan
        }
        self._tasks: list[asyncio.Task[None]] = []

    def _write_log(self, line: str) -> None:
        self._log.write(f"{time.strftime('%H:%M:%S')} {line}\n")

    def stats(self) -> FleetStats:
        cabinets = self.cabinets.values()
        return FleetStats(
            len(self.cabinets),
            sum(1 for c in cabinets if c.connected),
            sum(c.delivered for c in cabinets),
            sum(c.errors for c in cabinets),
        )

    def drained(self) -> bool:
        """Every cabinet connected with nothing left in its outbox."""
        return all(c.connected and len(c.app.outbox) == 0 for c in self.cabinets.values())

    async def start(self) -> None:
        """Apply what holds from the first moment (a broken heater, a skewed clock), boot the
        firmware of every cabinet at the fleet's connect rate, and start the timelines."""
        timelines = []
        for planned in self.plan:
            cabinet = self.cabinets[planned.cabinet.id]
            at_boot = [a for a in planned.actions if a.at_ms == 0 and a.kind == "set"]
            for action in at_boot:
                await cabinet.apply(action, planned.victim)
            later = [a for a in planned.actions if a not in at_boot]
            if later:
                timelines.append((cabinet, planned.victim, later))
        step = max(1, int(self._connects_per_s / 20))
        for index, cabinet in enumerate(self.cabinets.values()):
            cabinet.start()
            if index % step == step - 1:
                await asyncio.sleep(step / self._connects_per_s)
        self._tasks = [asyncio.create_task(self._drive(*timeline)) for timeline in timelines]

    async def _drive(self, cabinet: SimulatedCabinet, victim: str, actions: list[Action]) -> None:
        for action in actions:
            await self.clock.sleep_until(action.at_ms)
            if action.kind == "broker":
                if self._restart_broker is not None:  # the cabinet's own timeline goes on
                    restart = self._restart_broker(self.clock.real_s(action.over_ms))
                    self._tasks.append(asyncio.create_task(restart))
            else:
                await cabinet.apply(action, victim)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(c.stop() for c in self.cabinets.values()))
        self._log.close()
