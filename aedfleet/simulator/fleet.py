"""Runs a planned fleet: one SimulatedCabinet per planned cabinet, each with its own MQTT
connection, driven through its scenario's timeline on the simulation's clock.

Every step of a timeline is a moment the clock waits at until the step has been carried out:
a switch until the firmware's debouncer took its new level, a hostile message until the broker
acknowledged it, a broker restart until the broker is back. A step that cannot be carried out
within STEP_TIMEOUT_S of real time leaves its cabinet's timeline not honoured."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple, TextIO

from aedfleet.simulator.clock import Moment, SimClock
from aedfleet.simulator.demo_fleet import is_outdoor
from aedfleet.simulator.environment import Environment
from aedfleet.simulator.plan import PlannedCabinet
from aedfleet.simulator.scenario import Action
from aedfleet.simulator.simulated_cabinet import LOOK_S, SimulatedCabinet

# a fleet powering up is spread out, as after a district outage; 1,000/s overloads 2 cores
CONNECTS_PER_S: Final = 250
POLL_MS: Final = 1000  # the simulated board wakes at once on a switch change (like the IRQ)
# real time a step may take before its timeline is not honoured: past the firmware's longest
# reconnect backoff (60 s) and connect timeout (5 s), which a returning Wi-Fi waits out
STEP_TIMEOUT_S: Final = 90.0


class FleetStats(NamedTuple):
    cabinets: int
    connected: int
    delivered: int  # messages the broker acknowledged
    errors: int  # failed connects, lost connections, failed publishes


class Timeline(NamedTuple):
    """How one cabinet's scenario steps were carried out."""

    steps: int  # scheduled after boot
    done: int  # carried out at their simulated time (a switch: taken by the firmware)
    worst_s: float  # the longest real time a step took, the clock waiting for it

    @property
    def honoured(self) -> bool:
        return self.done == self.steps


class _Timeline(NamedTuple):
    cabinet_id: str
    victim: str
    actions: list[Action]  # the steps after boot, in time order
    moments: list[Moment]  # one per action
    ends: list[Moment]  # one per broker restart: when the broker is back


class FleetRunner:
    def __init__(
        self,
        plan: list[PlannedCabinet],
        *,
        broker_url: str | Sequence[str],  # several: a cluster's nodes, tried in turn
        password_of: Callable[[str], str],
        clock: SimClock,
        workdir: Path,
        telemetry_s: int,
        restart_broker: Callable[[Awaitable[None]], Coroutine[Any, Any, None]] | None = None,
        connects_per_s: float = CONNECTS_PER_S,
        poll_ms: int = POLL_MS,
        until_ms: int | None = None,
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
        self._broker_down = False  # a scenario's broker restart under way
        # every later step (before `until_ms`, the run's end) is a moment from the start, so
        # the clock cannot pass one unseen
        self._timelines: list[_Timeline] = []
        for planned in plan:
            later = [
                a for a in planned.actions
                if not _at_boot(a) and (until_ms is None or a.at_ms < until_ms)
            ]  # fmt: skip
            if later:
                moments = [clock.moment(a.at_ms) for a in later]
                ends = [clock.moment(a.at_ms + a.over_ms) for a in later if a.kind == "broker"]
                self._timelines.append(
                    _Timeline(planned.cabinet.id, planned.victim, later, moments, ends)
                )
        self._done = {timeline.cabinet_id: 0 for timeline in self._timelines}
        self._worst_s = {timeline.cabinet_id: 0.0 for timeline in self._timelines}

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

    def timelines(self) -> dict[str, Timeline]:
        """Cabinet id -> how its scenario's steps were carried out (cabinets with any)."""
        return {
            t.cabinet_id: Timeline(len(t.actions), self._done[t.cabinet_id],
                                   self._worst_s[t.cabinet_id])
            for t in self._timelines
        }  # fmt: skip

    def drained(self) -> bool:
        """Every cabinet connected with nothing left in its outbox."""
        return all(c.connected and len(c.app.outbox) == 0 for c in self.cabinets.values())

    async def start(self) -> None:
        """Apply what holds from the first moment (a broken heater, a skewed clock), boot the
        firmware of every cabinet at the fleet's connect rate, and start the timelines."""
        for planned in self.plan:
            cabinet = self.cabinets[planned.cabinet.id]
            for action in filter(_at_boot, planned.actions):
                await cabinet.apply(action, planned.victim)
        step = max(1, int(self._connects_per_s / 20))
        for index, cabinet in enumerate(self.cabinets.values()):
            cabinet.start()
            if index % step == step - 1:
                await asyncio.sleep(step / self._connects_per_s)
        self._tasks = [asyncio.create_task(self._drive(*timeline)) for timeline in self._timelines]

    async def _drive(
        self,
        cabinet_id: str,
        victim: str,
        actions: list[Action],
        moments: list[Moment],
        ends: list[Moment],
    ) -> None:
        cabinet = self.cabinets[cabinet_id]
        backs = iter(ends)
        for action, moment in zip(actions, moments, strict=True):
            async with moment:
                started = time.monotonic()
                if action.kind == "broker":  # the cabinet's own timeline goes on meanwhile
                    self._tasks.append(asyncio.create_task(self._restart(next(backs))))
                    done = True
                else:
                    done = await self._carry_out(cabinet, action, victim)
                self._count(cabinet_id, done and moment.late_ms == 0, time.monotonic() - started)

    async def _carry_out(self, cabinet: SimulatedCabinet, action: Action, victim: str) -> bool:
        """Whether the step reached the firmware in time; a step that fails is logged and
        its timeline goes on, so the clock never stops for good."""
        try:
            await asyncio.wait_for(self._taken(cabinet, action, victim), STEP_TIMEOUT_S)
        except TimeoutError:
            self._write_log(f"{cabinet.cabinet_id} step {action!r} not taken in time")
            return False
        except Exception as error:  # reported in the verdict, and logged
            self._write_log(f"{cabinet.cabinet_id} step {action!r} failed: {error!r}")
            return False
        return True

    async def _taken(self, cabinet: SimulatedCabinet, action: Action, victim: str) -> None:
        """Apply the step, and for a returning Wi-Fi wait until the firmware connected again
        (or the broker is down): its reconnect backoff runs in real time, and 30 real seconds
        of it would otherwise swallow half an hour of simulated Wi-Fi flaps."""
        await cabinet.apply(action, victim)
        if action.name == "wifi" and action.value:
            while not (cabinet.connected or self._broker_down):
                await asyncio.sleep(LOOK_S)

    async def _restart(self, back: Moment) -> None:
        """Stop the broker now, start it again when the clock reaches `back`; the clock waits
        at `back` until the broker is up."""
        self._broker_down = True
        try:
            if self._restart_broker is None:
                await back.arrive()
            else:
                await self._restart_broker(back.arrive())
        finally:
            self._broker_down = False
            back.release()

    def _count(self, cabinet_id: str, done: bool, took_s: float) -> None:
        self._done[cabinet_id] += done
        self._worst_s[cabinet_id] = max(self._worst_s[cabinet_id], took_s)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for timeline in self._timelines:
            for moment in (*timeline.moments, *timeline.ends):
                moment.release()  # a stopped fleet holds the clock no more
        await asyncio.gather(*(c.stop() for c in self.cabinets.values()))
        self._log.close()


def _at_boot(action: Action) -> bool:
    """What holds from the first moment: applied before the firmware boots."""
    return action.at_ms == 0 and action.kind == "set"
