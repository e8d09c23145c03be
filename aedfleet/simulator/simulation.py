"""`aedfleet simulate`: a planned fleet through the real Mosquitto, the collector (in this
process, on the simulation's clock) and the real InfluxDB, with a live progress display, a
summary, and a check that the collector ended up with what every scenario states.

The verdict keeps product outcomes apart from the simulator's health: when a cabinet's
timeline could not be honoured, or the event loop fell further behind than the firmware's
real-time timeouts tolerate, the run is inconclusive rather than a list of mismatches."""

from __future__ import annotations

import asyncio
import gc
import logging
import shutil
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, Final, NamedTuple

import msgspec
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aedfleet.broker.accounts import COLLECTOR_USER
from aedfleet.collector.clock import local_date
from aedfleet.collector.config import CollectorConfig, FleetConfig
from aedfleet.collector.inventory import write_inventory
from aedfleet.collector.service import Collector
from aedfleet.coverage.places import DEMO_PLACES
from aedfleet.services import LocalServices, free_port
from aedfleet.simulator import firmware
from aedfleet.simulator.clock import Moment, SimClock
from aedfleet.simulator.fleet import STEP_TIMEOUT_S, FleetRunner, FleetStats, Timeline
from aedfleet.simulator.plan import PlannedCabinet, choose, plan_fleet
from aedfleet.simulator.scenario import Scenario, load_library
from aedfleet.simulator.verify import Mismatch, mismatches, observe

HEARTBEAT_SIM_S: Final = 300  # simulated telemetry interval: the collector's heartbeat
DUTY_OFFICER: Final = "+8613700000000"
MARKER: Final = ".aedfleet-simulation"  # a work folder we made, and may empty
# the event loop may fall this far behind a due timer before the firmware's real-time network
# timeouts (connect_timeout_ms; CONNACK and PUBACK wait the longer ack_timeout_ms) could
# fire because of the simulator itself
LAG_LIMIT_S: Final = firmware.config.DEFAULTS["connect_timeout_ms"] / 2 / 1000
STALL_S: Final = 2 * STEP_TIMEOUT_S  # a clock standing still this long: give up the run
Load = Callable[[], Coroutine[Any, Any, None]]  # work run alongside the fleet (tests load it)


class Outcome(NamedTuple):
    plan: list[PlannedCabinet]
    stats: FleetStats
    real_s: float
    start_ms: int  # simulated time the run began
    simulated_ms: int
    mismatches: list[Mismatch]
    database: str
    speed: float  # asked for
    effective_speed: float  # achieved while the scenarios played out
    worst_lag_s: float  # the event loop's worst delay past a due timer
    worst_lag_at_ms: int  # simulated time it happened
    timelines: dict[str, Timeline]  # cabinets with scheduled steps -> how they were carried out

    @property
    def honoured(self) -> int:
        """How many cabinets' timelines were honoured exactly."""
        return sum(t.honoured for t in self.timelines.values())

    @property
    def behind_s(self) -> float:
        """How far the simulator fell behind what it had to honour; 0 when it kept up."""
        late = [t.worst_s for t in self.timelines.values() if not t.honoured]
        lag = self.worst_lag_s if self.worst_lag_s > LAG_LIMIT_S else 0.0
        return max([lag, *late])

    @property
    def inconclusive(self) -> bool:
        return self.honoured < len(self.timelines) or self.worst_lag_s > LAG_LIMIT_S

    @property
    def verdict(self) -> str:
        if self.inconclusive:
            return f"inconclusive: the simulator fell behind by {self.behind_s:.1f} s"
        if count := len(self.mismatches):
            return f"failed: {count} difference{'s' * (count > 1)} from what the scenarios state"
        return "passed: every cabinet as its scenario states"

    @property
    def exit_code(self) -> int:
        return 2 if self.inconclusive else 1 if self.mismatches else 0


def collector_config(
    services: LocalServices,
    workdir: Path,
    inventory: Path,
    client_id: str,
    *,
    http: dict[str, Any] | None = None,
    **alerts: Any,
) -> CollectorConfig:
    """The collector as a programme would run it, against the project's own services, with
    SMS going to the local outbox file (nothing is sent)."""
    return msgspec.convert(
        {
            "mqtt": {"url": services.mosquitto.url, "username": COLLECTOR_USER,
                     "password": services.mosquitto.password(COLLECTOR_USER),
                     "client_id": client_id},
            "influx": {"url": services.influxdb.url, "database": "aedfleet"},
            "spool": {"dir": str(workdir / "spool")},
            "fleet": {"inventory": str(inventory)},
            "http": http or {"listen": f"127.0.0.1:{free_port()}"},
            "alerts": {"state_dir": str(workdir / "state"), **alerts},
            "notify": {"sms_provider": "outbox", "outbox_path": str(workdir / "sms-outbox.txt"),
                       "duty_officers": [DUTY_OFFICER], "quiet_hours": ""},
            # live coverage of the Binzhou key places (docs/coverage.md)
            "coverage": {"places": str(DEMO_PLACES)},
        },
        CollectorConfig,
    )  # fmt: skip


def fresh_workdir(workdir: Path) -> None:
    """Empty the work folder of an earlier simulation; refuse a folder we did not make."""
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / MARKER).exists():
            raise SystemExit(f"{workdir} is not empty and not a simulation folder; choose another")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / MARKER).write_text("made by aedfleet simulate; emptied by the next run\n")


def simulate(
    *,
    cabinets: int,
    scenarios: str,
    seed: int,
    speed: float,
    workdir: Path,
    duration_ms: int | None = None,
    console: Console | None = None,
    load: Load | None = None,
    start_ms: int | None = None,
    library: dict[str, Scenario] | None = None,
    then: Callable[[Outcome, str], None] | None = None,
) -> Outcome:
    """`start_ms` sets the simulated calendar (default: now), `library` the scenarios to
    choose from (default: the packaged ones), and `then` is given the outcome and InfluxDB's
    URL while the services still run (a report over what the run stored)."""
    console = console or Console()
    library = library or load_library()
    clock = SimClock(speed, start_ms)
    boot = clock.moment(0)  # the scenarios begin once the whole fleet has booted
    # the collector's calendar (its default offset, as `collector_config` leaves it)
    start_date = local_date(clock.start_ms, FleetConfig().utc_offset_minutes)
    plan = plan_fleet(cabinets, choose(library, scenarios), library, seed=seed,
                      start_date=start_date)  # fmt: skip
    duration_ms = duration_ms or max(p.scenario.duration_ms for p in plan)
    fresh_workdir(workdir)
    logging.basicConfig(filename=workdir / "collector.log", level=logging.WARNING, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    services = LocalServices(workdir, [p.cabinet.id for p in plan])
    console.print(f"starting Mosquitto and InfluxDB for {cabinets} cabinets in {workdir}")
    services.start()
    try:
        outcome = asyncio.run(
            _run(services, plan, clock, boot, workdir, duration_ms, console, load)
        )
        if then is not None:
            then(outcome, services.influxdb.url)
        return outcome
    finally:
        services.stop()


async def _run(
    services: LocalServices,
    plan: list[PlannedCabinet],
    clock: SimClock,
    boot: Moment,
    workdir: Path,
    duration_ms: int,
    console: Console,
    load: Load | None,
) -> Outcome:
    inventory = workdir / "inventory.csv"
    write_inventory(inventory, [p.cabinet for p in plan])
    telemetry_s = max(1, round(HEARTBEAT_SIM_S / clock.speed))
    config = collector_config(services, workdir, inventory, "simulation-collector",
                              heartbeat_s=round(telemetry_s * clock.speed),
                              tick_ms=max(50, round(6000 / clock.speed)))  # fmt: skip
    collector = Collector(config, {p.cabinet.id: p.cabinet for p in plan}, clock.now_ms)
    stop_collector = asyncio.Event()
    collecting = asyncio.create_task(collector.run(stop_collector))
    await asyncio.wait_for(collector.subscribed(), 30)

    async def restart_broker(back: Awaitable[None]) -> None:
        await asyncio.to_thread(services.mosquitto.process.stop)
        await back
        await asyncio.to_thread(services.mosquitto.process.start)

    fleet = FleetRunner(plan, broker_url=services.mosquitto.url,
                        password_of=services.mosquitto.password, clock=clock, workdir=workdir,
                        telemetry_s=telemetry_s, restart_broker=restart_broker,
                        # the board wakes on a switch at once; polling only paces telemetry
                        poll_ms=min(5000, telemetry_s * 200), until_ms=duration_ms)  # fmt: skip
    # the loop's lag counts from here: building the fleet blocks it while the clock waits at 0
    pacing = asyncio.create_task(clock.pace())
    loading = asyncio.create_task(load()) if load is not None else None
    started = time.monotonic()
    try:
        await fleet.start()
        # the booted fleet lives until the end: its millions of objects left out of the
        # cyclic collector, whose full passes over 10,000 cabinets held the loop 2-3.6 s
        gc.freeze()
        boot.release()
        playing = time.monotonic()
        await _show_progress(fleet, clock, duration_ms, console)
        effective_speed = clock.elapsed_ms() / 1000 / max(time.monotonic() - playing, 1e-3)
        # let the last messages reach the broker and the collector store them
        deadline = time.monotonic() + 60
        while not fleet.drained() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)
    finally:
        gc.unfreeze()
        boot.release()
        # the lag counts until here: stopping 2,000 cabinets at once is no part of the run
        for task in (pacing, loading):
            if task is not None:
                task.cancel()
        await asyncio.gather(pacing, *([loading] if loading else []), return_exceptions=True)
        stop_collector.set()
        await collecting
        stats = fleet.stats()
        await fleet.stop()
        # a firmware task the run left behind is finalised now, while its loop still runs (its
        # socket closes cleanly), not during whatever this process does next
        gc.collect()
    real_s = time.monotonic() - started
    seen = observe(services.influxdb.url, config.influx.database, clock.start_ms,
                   Path(config.alerts.state_dir))  # fmt: skip
    outcome = Outcome(plan, stats, real_s, clock.start_ms, clock.elapsed_ms(),
                      mismatches(plan, seen), config.influx.database, clock.speed,
                      effective_speed, clock.worst_lag_s, clock.worst_lag_at_ms,
                      fleet.timelines())  # fmt: skip
    console.print(summary(outcome))
    console.print(health(outcome))
    console.print(outcome.verdict)
    return outcome


async def _show_progress(
    fleet: FleetRunner, clock: SimClock, duration_ms: int, console: Console
) -> None:
    columns = (
        TextColumn("simulated {task.fields[simulated]}"), BarColumn(), TimeElapsedColumn(),
        TextColumn("connected {task.fields[connected]}/{task.fields[cabinets]}"),
        TextColumn("{task.fields[rate]:>7.0f} msgs/s"), TextColumn("errors {task.fields[errors]}"),
    )  # fmt: skip
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("fleet", total=duration_ms, simulated="0m", connected=0,
                                 cabinets=len(fleet.cabinets), rate=0.0, errors=0)  # fmt: skip
        last_delivered, last_at = 0, time.monotonic()
        moved_ms, moved_at = -1, time.monotonic()
        while (elapsed := clock.elapsed_ms()) < duration_ms:
            if elapsed != moved_ms:
                moved_ms, moved_at = elapsed, time.monotonic()
            elif time.monotonic() - moved_at > STALL_S:  # the verdict will be inconclusive
                console.print(f"the simulated clock stood still for {STALL_S:g} s: stopping")
                return
            await asyncio.sleep(0.5)
            stats, now = fleet.stats(), time.monotonic()
            rate = (stats.delivered - last_delivered) / max(1e-3, now - last_at)
            last_delivered, last_at = stats.delivered, now
            progress.update(task, completed=min(elapsed, duration_ms),
                            simulated=f"{elapsed // 60_000}m", connected=stats.connected,
                            rate=rate, errors=stats.errors)  # fmt: skip


def summary(outcome: Outcome) -> Table:
    stats = outcome.stats
    table = Table(title=(
        f"{stats.cabinets} cabinets, {outcome.simulated_ms / 60_000:.0f} simulated minutes in "
        f"{outcome.real_s:.0f} s: {stats.delivered} messages "
        f"({stats.delivered / max(outcome.real_s, 1e-3):.0f}/s), {stats.errors} link errors"
    ))  # fmt: skip
    for column in ("scenario", "cabinets", "timeline", "product outcome"):
        table.add_column(column)
    by_scenario: dict[str, list[str]] = {}
    for planned in outcome.plan:
        by_scenario.setdefault(planned.scenario.name, []).append(planned.cabinet.id)
    for name, ids in sorted(by_scenario.items()):
        timelines = [outcome.timelines[i] for i in ids if i in outcome.timelines]
        honoured = sum(t.honoured for t in timelines)
        timeline = (
            "no steps" if not timelines
            else f"[green]honoured {honoured}/{len(timelines)}[/]" if honoured == len(timelines)
            else f"[yellow]honoured {honoured}/{len(timelines)}[/]"
        )  # fmt: skip
        wrong = [m for m in outcome.mismatches if m.scenario == name]
        colour = "yellow" if outcome.inconclusive else "red"  # not attributable to the product
        result = "[green]as stated[/]" if not wrong else "\n".join(
            f"[{colour}]{m.cabinet} {m.what}: expected {m.expected}, found {m.found}[/]"
            for m in wrong
        )  # fmt: skip
        table.add_row(name, str(len(ids)), timeline, result)
    return table


def health(outcome: Outcome) -> str:
    """The simulator's own health: the speed it achieved, how far its event loop lagged, and
    how many timelines it honoured exactly."""
    slowed = outcome.effective_speed < outcome.speed * 0.95
    return (
        f"speed {outcome.speed:g} asked, {outcome.effective_speed:.1f} achieved"
        f"{' (slowed to what this machine honoured)' if slowed else ''}; worst event-loop lag "
        f"{outcome.worst_lag_s:.2f} s at {_minutes(outcome.worst_lag_at_ms)} simulated (limit "
        f"{LAG_LIMIT_S:g} s); {outcome.honoured} of "
        f"{len(outcome.timelines)} cabinets' timelines honoured exactly"
    )


def _minutes(elapsed_ms: int) -> str:
    return f"{elapsed_ms // 60_000}m{elapsed_ms // 1000 % 60:02d}s"
