"""`make demo`: the Binzhou demo fleet through the real broker, collector and InfluxDB, shown
live as the ops room would see it. Two minutes in, a cabinet is opened in an emergency."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import signal
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Final

from rich.console import Group
from rich.live import Live
from rich.table import Table

from aedfleet.collector.inventory import Cabinet, write_inventory
from aedfleet.collector.service import Collector
from aedfleet.services import LocalServices
from aedfleet.simulator.clock import SimClock
from aedfleet.simulator.fleet import FleetRunner
from aedfleet.simulator.plan import plan_fleet
from aedfleet.simulator.scenario import load_library
from aedfleet.simulator.simulation import collector_config

if TYPE_CHECKING:
    from aedfleet.coverage.watch import CoverageWatch

DEMO_SEED: Final = 2026
STATES: Final = ("available", "in_use", "not_ready", "offline")
COLOURS: Final = {"available": "green", "in_use": "bold red", "not_ready": "yellow",
                  "offline": "grey50"}  # fmt: skip


class Demo:
    def __init__(
        self,
        services: LocalServices,
        workdir: Path,
        cabinets: list[Cabinet],
        http: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.cabinets = cabinets
        inventory = workdir / "inventory.csv"
        write_inventory(inventory, cabinets)
        config = collector_config(
            services, workdir, inventory, "demo-collector",
            http=http, heartbeat_s=60, repeat_critical_s=60, opened_clear_s=5,
        )  # fmt: skip
        self.collector = Collector(config, {c.id: c for c in cabinets})
        library = load_library()
        clock = SimClock()
        plan = plan_fleet(len(cabinets), [], library, seed=DEMO_SEED,
                          start_date=datetime.date.today())  # fmt: skip
        # the demo's own inventory, each cabinet playing a normal day
        plan = [p._replace(cabinet=c) for p, c in zip(plan, cabinets, strict=True)]
        self.fleet = FleetRunner(plan, broker_url=services.mosquitto.url,
                                 password_of=services.mosquitto.password, clock=clock,
                                 workdir=workdir, telemetry_s=60)  # fmt: skip
        self.emergency = self.fleet.cabinets[cabinets[0].id]  # People's Hospital, Bincheng
        self.started = time.monotonic()
        self.story: list[str] = []

    async def run(self, stop: asyncio.Event, *, emergency_after_s: float) -> None:
        collector = asyncio.create_task(self.collector.run(stop))
        await asyncio.wait_for(self.collector.subscribed(), 30)
        await self.fleet.start()
        script = asyncio.create_task(self._emergency(emergency_after_s))
        with Live(self.view(), refresh_per_second=2, transient=False) as live:
            while not stop.is_set():
                live.update(self.view())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1)
        script.cancel()
        await self.fleet.stop()
        await collector

    async def _emergency(self, after_s: float) -> None:
        cabinet = self.emergency
        await asyncio.sleep(after_s)
        self.story.append(f"{self._clock()} bystander opens {cabinet.cabinet_id} and takes the AED")
        cabinet.set("door", True)
        await asyncio.sleep(2)
        cabinet.set("aed", False)
        await asyncio.sleep(10)
        cabinet.set("door", False)
        await asyncio.sleep(40)  # 40 minutes in the real world, 40 seconds here
        self.story.append(f"{self._clock()} the AED is brought back; pads must be replaced")
        cabinet.set("door", True)
        await asyncio.sleep(2)
        cabinet.set("aed", True)
        await asyncio.sleep(2)
        cabinet.set("door", False)

    def _clock(self) -> str:
        elapsed = int(time.monotonic() - self.started)
        return f"+{elapsed // 60:02d}:{elapsed % 60:02d}"

    def view(self) -> Group:
        readiness = self.collector.alerting.readiness()
        by_district: dict[str, Counter[str]] = {}
        for cabinet in self.cabinets:
            state = readiness.get(cabinet.id, {"state": "offline"})["state"]
            by_district.setdefault(cabinet.district, Counter())[state] += 1
        table = Table(title=f"AED readiness by district  {self._clock()}")
        table.add_column("district")
        for state in STATES:
            table.add_column(state, justify="right", style=COLOURS[state])
        coverage = self.collector.alerting.coverage
        covered = _coverage_cells(coverage)  # key places a ready AED covers, beside readiness
        if covered:
            table.add_column("key places covered", justify="right", style="cyan")
        total: Counter[str] = Counter()
        for district, counts in sorted(by_district.items()):
            extra = [covered.get(district, "")] if covered else []
            table.add_row(district, *(str(counts[s]) for s in STATES), *extra)
            total += counts
        ready = 100 * total["available"] / max(1, len(self.cabinets))
        extra = [covered[""]] if covered else []
        table.add_row(f"fleet ({ready:.0f} % ready)", *(str(total[s]) for s in STATES), *extra,
                      style="bold")  # fmt: skip
        alerts = Table(title="active alerts")
        for column in ("severity", "state", "cabinet", "alert"):
            alerts.add_column(column)
        for alert in self.collector.alerting.active():
            alerts.add_row(alert["severity"], alert["state"], alert["cabinet_id"], alert["summary"])
        outbox = self.workdir / "sms-outbox.txt"
        sms = outbox.read_text(encoding="utf-8").splitlines()[-6:] if outbox.exists() else []
        sms_table = Table(title="SMS that would go out (the demo's local outbox, nothing is sent)")
        sms_table.add_column("message")
        for line in sms or ["(none yet)"]:
            sms_table.add_row(line)
        lost = Table(title="key places that lost their last ready AED (coverage_lost)")
        for column in ("since", "place", "district"):
            lost.add_column(column, style="bold red" if column == "place" else "")
        for place, since_ms in coverage.lost() if coverage is not None else []:
            lost.add_row(_local(since_ms), place.name, place.district)
        story = Table(title="what happens")
        story.add_column("")
        for line in self.story or [
            f"an emergency opening is scheduled; {self.emergency.cabinet_id}"
        ]:
            story.add_row(line)
        return Group(table, alerts, lost, sms_table, story)


def _coverage_cells(coverage: CoverageWatch | None) -> dict[str, str]:
    """district ("" for the fleet) -> `covered/places (pct %)`; empty without coverage."""
    if coverage is None:
        return {}
    live = coverage.tracker.coverage
    cells = {t.district: f"{t.covered}/{t.places} ({t.pct:.0f} %)" for t in live.districts()}
    fleet = live.fleet()
    cells[""] = (f"{fleet.covered}/{fleet.places} ({fleet.pct:.0f} %, weighted "
                 f"{fleet.weighted_pct:.0f} %)")  # fmt: skip
    return cells


def _local(epoch_ms: int) -> str:
    return datetime.datetime.fromtimestamp(epoch_ms / 1000).strftime("%H:%M:%S")


def run_demo(
    services: LocalServices,
    workdir: Path,
    cabinets: list[Cabinet],
    *,
    emergency_after_s: float = 120,
    http: dict[str, str] | None = None,
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
        demo = Demo(services, workdir, cabinets, http)
        await demo.run(stop, emergency_after_s=emergency_after_s)

    asyncio.run(main())
