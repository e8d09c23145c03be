"""`make demo`: the Binzhou demo fleet through the real broker, collector and InfluxDB, shown
live as the ops room would see it, playing a short story of the ops room's day (see
demo_story.py): a visitor can be the duty officer and acknowledge the emergency from a second
terminal, and the view answers back."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import shutil
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import msgspec
from rich.console import Console, Group
from rich.live import Live

from aedfleet.broker.files import write_private
from aedfleet.collector.clock import local_date
from aedfleet.collector.config import CollectorConfig, RespondersConfig
from aedfleet.collector.inventory import Cabinet, write_inventory
from aedfleet.collector.service import Collector
from aedfleet.demo_env import ENV_FILE, env_text
from aedfleet.responders.roster import COLUMNS as RESPONDER_COLUMNS
from aedfleet.services import LOOPBACK, LocalServices, free_port
from aedfleet.simulator.clock import SimClock
from aedfleet.simulator.demo_story import Pace, beat_texts, cast, emergency_steps
from aedfleet.simulator.demo_view import Snapshot, act_lines, clock_text, render
from aedfleet.simulator.fleet import FleetRunner
from aedfleet.simulator.plan import plan_fleet
from aedfleet.simulator.scenario import load_library, timeline
from aedfleet.simulator.simulation import collector_config

log = logging.getLogger("aedfleet.demo")

DEMO_SEED: Final = 2026
API_PORT: Final = 9108  # the collector's usual port: `aedfleet alerts` finds it with no flags
TOKEN_NAME: Final = "you"  # the acknowledgement is recorded by the token's name
NIGHT_TELEMETRY_S: Final = 1  # the cold-night cabinet reports often: its night runs fast
SMS_KEPT: Final = 40  # outbox lines the view keeps (it shows what fits)
STEP_WAIT_S: Final = 60.0  # the longest a beat waits for the collector to see what it did


def api_listen(port: int = API_PORT) -> str:
    """127.0.0.1:`port` when it is free, otherwise a free port."""
    with socket.socket() as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return f"{LOOPBACK}:{free_port()}"
    return f"{LOOPBACK}:{port}"


def write_env_file(workdir: Path, url: str, token: str) -> Path:
    """The env file `aedfleet alerts` reads from the checkout (mode 0600)."""
    path = workdir / ENV_FILE
    workdir.mkdir(parents=True, exist_ok=True)
    write_private(path, env_text(url, token).encode())
    return path


class Demo:
    def __init__(
        self,
        services: LocalServices,
        workdir: Path,
        cabinets: list[Cabinet],
        http: dict[str, Any],
        pace: Pace,
    ) -> None:
        self.workdir = workdir
        self.cabinets = cabinets
        self.pace = pace
        self.library = load_library()
        self.the = cast(cabinets)
        self.clock = SimClock()
        # each demo tells its day afresh: no alert, cabinet state or SMS of an earlier one
        shutil.rmtree(workdir / "state", ignore_errors=True)
        (workdir / "sms-outbox.txt").unlink(missing_ok=True)
        inventory = workdir / "inventory.csv"
        write_inventory(inventory, cabinets)
        config = collector_config_for(services, workdir, inventory, http, pace)
        roster = write_demo_responders(workdir / "responders.csv", self.the.emergency)
        config = msgspec.structs.replace(config, responders=RespondersConfig(file=str(roster)))
        self.collector = Collector(config, {c.id: c for c in cabinets}, self.clock.now_ms)
        # the programme's date, by which the collector counts days to expiry: not the machine's
        self.start_date = local_date(self.clock.start_ms, config.fleet.utc_offset_minutes)
        plan = plan_fleet(len(cabinets), [], self.library, seed=DEMO_SEED,
                          start_date=self.start_date)  # fmt: skip
        # the demo's own inventory, each cabinet playing a normal day until its beat
        plan = [p._replace(cabinet=c) for p, c in zip(plan, cabinets, strict=True)]
        self.fleet = FleetRunner(plan, broker_url=services.mosquitto.url,
                                 password_of=services.mosquitto.password, clock=self.clock,
                                 workdir=workdir, telemetry_s=60)  # fmt: skip
        self.fleet.cabinets[self.the.night.id].config["telemetry_s"] = NIGHT_TELEMETRY_S
        self.texts = beat_texts(self.the, pace, self._pads_days())
        self.started = time.monotonic()  # again once the fleet is up: the story starts there
        self.beats: list[str] = []
        self.watched: dict[str, Any] | None = None  # the emergency's opened alert, last seen
        self.watched_resolved = False
        self.outbox = workdir / "sms-outbox.txt"

    def _pads_days(self) -> int:
        return self.library["pads_expiring"].pads_expire_in_days or 20

    async def run(self, stop: asyncio.Event, console: Console | None = None) -> None:
        collector = asyncio.create_task(self.collector.run(stop))
        await asyncio.wait_for(self.collector.subscribed(), 30)
        await self.fleet.start()
        self.started = time.monotonic()
        story = asyncio.create_task(self._story())
        console = console or Console()
        try:
            with Live(console=console, auto_refresh=False, vertical_overflow="crop",
                      get_renderable=lambda: self.view(console)) as live:  # fmt: skip
                while not stop.is_set():
                    live.refresh()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 0.5)
        finally:
            story.cancel()
            await asyncio.gather(story, return_exceptions=True)
            await self.fleet.stop()
            stop.set()
            await collector

    # --- the story -------------------------------------------------------------------------

    def _beat(self, name: str) -> None:
        self.beats.append(f"{self._elapsed()} {self.texts[name]}")

    async def _at(self, real_s: float) -> None:
        """Wait until the demo is `real_s` old."""
        await asyncio.sleep(max(0.0, self.started + real_s - time.monotonic()))

    async def _story(self) -> None:
        try:
            await self._beats()
        except Exception as error:  # the fleet and the collector go on; the visitor is told
            log.exception("the demo's story stopped")
            self.beats.append(f"{self._elapsed()} the story stopped: {error!a} (collector.log)")

    async def _beats(self) -> None:
        pace = self.pace
        self._beat("morning")
        await self._at(pace.pads_at_s)
        await self._pads()
        await self._at(pace.emergency_at_s)
        await self._emergency()
        await asyncio.sleep(pace.gap_s)
        await self._offline()
        await asyncio.sleep(pace.gap_s)
        await self._cold_night()
        self._beat("end")

    async def _pads(self) -> None:
        """An AED swapped for a loan one: the cabinet restarts with the new pads' date."""
        self._beat("pads")
        cabinet = self.fleet.cabinets[self.the.pads.id]
        await cabinet.stop()
        expiry = self.start_date + datetime.timedelta(days=self._pads_days())
        cabinet.config["pad_exp"] = expiry.isoformat()
        cabinet.start()

    async def _emergency(self) -> None:
        cabinet = self.fleet.cabinets[self.the.emergency.id]
        self._beat("emergency")
        started = time.monotonic()
        for at_s, action in emergency_steps(self.library["emergency_opening"],
                                            self.pace.emergency_scale):  # fmt: skip
            await asyncio.sleep(max(0.0, started + at_s - time.monotonic()))
            if (action.name, action.value) == ("aed", True):
                self._beat("returned")
            await cabinet.apply(action, "")

    async def _offline(self) -> None:
        cabinet = self.fleet.cabinets[self.the.offline.id]
        self._beat("offline")
        await cabinet.stop()  # no DISCONNECT: the broker publishes the last will
        if await self._until(lambda: self._alert_state(cabinet.cabinet_id, "offline") == "firing"):
            self._beat("offline_alert")
        await asyncio.sleep(self.pace.offline_for_s)
        self._beat("recovered")
        cabinet.start()
        await self._until(
            lambda: self._alert_state(cabinet.cabinet_id, "offline") in (None, "resolved")
        )

    def _alert_state(self, cabinet_id: str, rule: str) -> str | None:
        alert = self.collector.alerting.engine.alerts.get((cabinet_id, rule))
        return alert.state if alert is not None else None

    async def _until(self, done: Callable[[], bool], within_s: float = STEP_WAIT_S) -> bool:
        """Whether `done` came true in time (the story goes on either way)."""
        deadline = time.monotonic() + within_s
        while not done():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.2)
        return True

    async def _cold_night(self) -> None:
        """The cold_night scenario on its cabinet, the clock running fast until it is over."""
        scenario = self.library["cold_night"]
        cabinet = self.fleet.cabinets[self.the.night.id]
        self._beat("night")
        self.clock.set_speed(self.pace.night_speed)
        try:
            begin = self.clock.elapsed_ms()
            for action in timeline(scenario):
                await self.clock.sleep_until(begin + action.at_ms)
                await cabinet.apply(action, "")
            await self.clock.sleep_until(begin + scenario.duration_ms)
        finally:
            self.clock.set_speed(1)
        self._beat("dawn")

    # --- the view --------------------------------------------------------------------------

    def _elapsed(self) -> str:
        elapsed = int(time.monotonic() - self.started)
        return f"+{elapsed // 60:02d}:{elapsed % 60:02d}"

    def snapshot(self) -> Snapshot:
        readiness = self.collector.alerting.readiness()
        districts: dict[str, Counter[str]] = {}
        for cabinet in self.cabinets:
            state = readiness.get(cabinet.id, {"state": "offline"})["state"]
            districts.setdefault(cabinet.district, Counter())[state] += 1
        alerts = self.collector.alerting.active()
        watched = next((a for a in alerts if (a["cabinet_id"], a["rule"]) ==
                        (self.the.emergency.id, "opened")), None)  # fmt: skip
        if watched is not None:
            self.watched, self.watched_resolved = watched, False
        elif self.watched is not None:
            self.watched_resolved = True
        act = act_lines(self.watched, cabinet=self.the.emergency.id, rule="opened",
                        repeat_s=self.pace.repeat_s, resolved=self.watched_resolved)  # fmt: skip
        speed = f" x{self.clock.speed:g}" if self.clock.speed != 1 else ""
        covered, lost = self._coverage()
        return Snapshot(self._elapsed(), clock_text(self.clock.now_ms()) + speed, districts,
                        self.beats, act, alerts, self._sms(), covered, lost,
                        self._responders())  # fmt: skip

    def _responders(self) -> str:
        """How many responders the emergency alerted and the nearest's distance: counts only."""
        responders = self.collector.alerting.responders
        last = responders.last if responders is not None else None
        if last is None or last[0] != self.the.emergency.id:
            return ""
        _, alerted, nearest = last
        return f"{alerted} responders alerted" + (f", nearest {nearest:.0f} m" if nearest else "")

    def _coverage(self) -> tuple[str, tuple[str, ...]]:
        """Fleet coverage of the key places beside readiness, and the places that just lost
        their last ready AED (docs/coverage.md)."""
        coverage = self.collector.alerting.coverage
        if coverage is None:
            return "", ()
        fleet = coverage.tracker.coverage.fleet()
        covered = f"{fleet.pct:.0f} %"
        lost = tuple(f"{clock_text(since)} {place.name} ({place.district})"
                     for place, since in coverage.lost())  # fmt: skip
        return covered, lost

    def _sms(self) -> list[str]:
        if not self.outbox.exists():
            return []
        return self.outbox.read_text(encoding="utf-8", errors="replace").splitlines()[-SMS_KEPT:]

    def view(self, console: Console) -> Group:
        width, height = console.size
        return Group(*render(self.snapshot(), width, height))


# three demo first-aiders north of People's Hospital: 0.001 degree of latitude is 111.195 m
DEMO_RESPONDERS: Final = ((140, "zh"), (260, "en"), (390, "zh"))


def write_demo_responders(path: Path, hospital: Cabinet) -> Path:
    """The demo's responders file (made-up people and numbers), private as the real one must be."""
    lines = [",".join(RESPONDER_COLUMNS)] + [
        f"demo-{n},Demo responder {n},+8613800001{n:03d},DEMO-{n},2030-12-31,"
        f"{hospital.lat + metres / 111_195.08:.6f},{hospital.lon},24/7,2026-01-01,{language}"
        for n, (metres, language) in enumerate(DEMO_RESPONDERS, start=1)
    ]
    write_private(path, ("\n".join(lines) + "\n").encode())
    return path


def collector_config_for(
    services: LocalServices, workdir: Path, inventory: Path, http: dict[str, Any], pace: Pace
) -> CollectorConfig:
    # heartbeats an hour apart: the fleet's minute-apart telemetry stays in time through the
    # cold night's fast clock; a lost cabinet is found by its last will, not by silence
    return collector_config(
        services, workdir, inventory, "demo-collector", http=http, heartbeat_s=3600,
        repeat_critical_s=pace.repeat_s, opened_clear_s=5, offline_hold_s=pace.offline_hold_s,
        broker_grace_s=max(5, pace.offline_hold_s),
    )  # fmt: skip


def run_demo(
    services: LocalServices,
    workdir: Path,
    cabinets: list[Cabinet],
    *,
    http: dict[str, Any],
    pace: Pace,
) -> None:
    """Run until Ctrl-C or SIGTERM; everything started here is stopped before returning.
    `http`: the collector's [http] section (listen address and API token)."""
    logging.basicConfig(
        filename=workdir / "collector.log", level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )  # fmt: skip

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        demo = Demo(services, workdir, cabinets, http, pace)
        await demo.run(stop)

    asyncio.run(main())
