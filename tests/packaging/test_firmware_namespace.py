"""The firmware runs in the simulator under its own package name: a CPython process that runs
the collector and a simulated fleet holds no top-level `config`, `app`, `link`, `report` or
`cabinet` module (which would shadow or be shadowed by any other module of those names)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from aedfleet.firmware_tools import FIRMWARE_DIR

# a fresh interpreter: what this test run imported before cannot hide or cause a stray module
SCRIPT = """
import asyncio, datetime, json, sys, tempfile
from pathlib import Path

import aedfleet.collector.service
from aedfleet.services import free_port
from aedfleet.simulator.clock import SimClock
from aedfleet.simulator.fleet import FleetRunner
from aedfleet.simulator.plan import choose, plan_fleet
from aedfleet.simulator.scenario import load_library


async def main() -> None:
    library = load_library()
    plan = plan_fleet(2, choose(library, "emergency_opening"), library, seed=2,
                      start_date=datetime.date(2026, 12, 1))
    clock = SimClock(speed=6000)
    with tempfile.TemporaryDirectory() as workdir:
        # no broker listens: the firmware runs all the same, its outbox holds what it sends
        fleet = FleetRunner(plan, broker_url=f"mqtt://127.0.0.1:{free_port()}",
                            password_of=lambda _cabinet: "x", clock=clock, workdir=Path(workdir),
                            telemetry_s=60, poll_ms=1000)
        await fleet.start()
        while clock.elapsed_ms() < 45 * 60_000:
            await asyncio.sleep(0.05)
        await fleet.stop()
        print(json.dumps({"modules": sorted(sys.modules),
                          "timelines": [t.done for t in fleet.timelines().values()]}))

asyncio.run(main())
"""


def test_a_simulation_in_process_leaves_no_bare_firmware_module(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120, check=True)  # fmt: skip
    report = json.loads(run.stdout.splitlines()[-1])
    assert report["timelines"] == [6], "the simulated emergency played out"
    firmware_modules = {p.stem for p in FIRMWARE_DIR.glob("*.py")}
    assert {"config", "app", "link", "report", "cabinet"} <= firmware_modules
    assert not firmware_modules & set(report["modules"])
    assert {f"aedfleet_firmware.{name}" for name in ("app", "config", "link")} <= set(
        report["modules"]
    )
