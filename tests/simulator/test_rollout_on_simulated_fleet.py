"""The issue's "simulated fleet, 200 cabinets": `aedfleet firmware rollout`'s driver against
200 simulated cabinets running the firmware's own code (aedfleet/simulator), through the real
Mosquitto. A cabinet installs a release into its spare slot, resets, and boots the new slot's
code as slots.py picks it; a failed trial boots the old one again.

- A release whose App crashes at start halts after the first wave (one cabinet): that cabinet
  rolls back by itself to the version it ran, and no other cabinet ever receives the release.
- A good release then reaches every cabinet, wave after wave; a cabinet opened before its
  wave is not offered the release until it is closed.

Trial and soak are shortened through configuration (ota_trial_s, the policy's soak_s)."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aedfleet.broker.accounts import OPERATOR_USER
from aedfleet.firmware_release import Release
from aedfleet.firmware_tools import FIRMWARE_DIR
from aedfleet.rollout import driver, plan
from aedfleet.rollout.store import RolloutStore
from aedfleet.services import Mosquitto
from aedfleet.simulator import firmware
from aedfleet.simulator.clock import SimClock
from aedfleet.simulator.environment import Environment
from aedfleet.simulator.simulated_cabinet import SimulatedCabinet
from tests.firmware.ota_release import firmware_files, key_b64, sign
from tests.support.harness import until

pytestmark = [pytest.mark.services, pytest.mark.slow]
DISTRICTS = ("bincheng", "zhanhua", "huimin", "yangxin", "wudi", "boxing", "zouping")
COUNT = 200
FACTORY = firmware.config.FIRMWARE_VERSION
DEADLINE_S = 120.0  # generous: the whole test takes well under a minute on a quiet machine


def sites() -> list[plan.Site]:
    """Seven districts, cabinets over a kilometre apart (the districts are the groups)."""
    return [
        plan.Site(f"ro-{n % 7}-{n:03d}", DISTRICTS[n % 7], 37.0 + (n % 7) * 0.5,
                  117.0 + (n // 7) * 0.012)
        for n in range(COUNT)
    ]  # fmt: skip


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    mosquitto = Mosquitto(tmp_path / "mosquitto", [s.id for s in sites()])
    mosquitto.process.start()
    try:
        yield mosquitto
    finally:
        mosquitto.process.stop()


def running(cabinet: SimulatedCabinet) -> str | None:
    """The version the cabinet runs, once it is connected (its code's FIRMWARE_VERSION)."""
    if not cabinet.connected:
        return None
    package = type(cabinet.app).__module__.rpartition(".")[0]
    return str(sys.modules[f"{package}.config"].FIRMWARE_VERSION)


async def drive(rollout: plan.Rollout, release: Release, mosquitto: Mosquitto,
                state_dir: Path) -> plan.Rollout:  # fmt: skip
    broker = driver.Broker(
        mosquitto.host, mosquitto.port, OPERATOR_USER, mosquitto.password(OPERATOR_USER)
    )
    store = RolloutStore(state_dir)
    try:
        run = driver.Driver(rollout, release, store, broker, log=lambda _line: None)
        return await run.run(tick_s=0.25, settle_s=1.0)
    finally:
        store.close()


def bad_files(version: str) -> dict[str, bytes]:
    files = firmware_files(version)
    start = b"    async def run(self):\n"
    files["app.py"] = files["app.py"].replace(
        start, start + b'        raise RuntimeError("this release cannot start")\n'
    )
    return files


async def rollouts(mosquitto: Mosquitto, workdir: Path) -> None:
    bare_before = {p.stem for p in FIRMWARE_DIR.glob("*.py")} & set(sys.modules)
    key = Ed25519PrivateKey.generate()
    clock = SimClock()
    fleet = {
        site.id: SimulatedCabinet(
            site.id, broker=mosquitto.url, password=mosquitto.password(site.id),
            data_dir=workdir / "fleet" / site.id, log=lambda _line: None, clock=clock,
            environment=Environment(random.Random(n), indoor=True, start_ms=clock.start_ms),
            ota_key=key_b64(key), ota_trial_s=10, poll_ms=1000,
        )
        for n, site in enumerate(sites())
    }  # fmt: skip
    waves = plan.plan_waves(sites())
    assert [len(w) for w in waves] == [1, 9, 40, 150]
    policy = plan.Policy(soak_s=1, report_s=120)
    for cabinet in fleet.values():
        cabinet.start()
    try:
        await until(
            lambda: all(running(c) == FACTORY for c in fleet.values()), DEADLINE_S, "all online"
        )

        # a release that crashes at start: halted after wave 1, which rolls back by itself
        bad = plan.Rollout("1.0.1", waves, policy)
        halted = await drive(bad, sign("1.0.1", bad_files("1.0.1"), key), mosquitto,
                             workdir / "state")  # fmt: skip
        assert halted.phase == plan.HALTED
        assert halted.reason == "wave 1: 1 of 1 failed (trial_crash); threshold 0"
        [first] = waves[0]
        await until(
            lambda: running(fleet[first]) == FACTORY, DEADLINE_S, "the first wave's rollback"
        )
        assert fleet[first].boots == 3  # the trial, then the known-good version again
        others = [c for c in fleet.values() if c.cabinet_id != first]
        assert all(c.boots == 1 and c.app.updater is None for c in others), "never offered"
        assert not any((workdir / "fleet" / c.cabinet_id / "slot_a").exists() for c in others)
        assert all(running(c) == FACTORY for c in fleet.values())

        # a good release through every wave; a cabinet opened before its wave waits
        good = plan.Rollout("2.0.0", waves, policy)
        opened = fleet[waves[1][0]]
        task = asyncio.create_task(
            drive(good, sign("2.0.0", firmware_files("2.0.0"), key), mosquitto,
                  workdir / "state")
        )  # fmt: skip
        await until(
            lambda: good.cabinets[first].state != plan.PENDING, DEADLINE_S, "wave 1 offered"
        )
        opened.set("door", True)  # the driver listens by now: it hears the door open
        await until(lambda: opened.took("door", True), DEADLINE_S, "the door taken")
        rest = [c for c in waves[1] if c != opened.cabinet_id]
        await until(
            lambda: all(good.cabinets[c].state == plan.APPLIED for c in rest),
            DEADLINE_S,
            "wave 2 but the opened cabinet",
        )
        assert good.cabinets[opened.cabinet_id].state == plan.PENDING
        assert opened.app.updater is None and running(opened) == FACTORY
        assert good.wave == 1, "the next wave waits for the opened cabinet"
        opened.set("door", False)
        finished = await asyncio.wait_for(task, DEADLINE_S)
        assert finished.phase == plan.DONE, finished.reason
        await until(
            lambda: all(running(c) == "2.0.0" for c in fleet.values()),
            DEADLINE_S,
            "the whole fleet on 2.0.0",
        )
        assert finished.versions() == {"2.0.0": COUNT}
        # one loaded copy per version installed (1.0.1, 2.0.0), no bare firmware module
        copies = {m for m in sys.modules if m.startswith(f"{firmware.PACKAGE}_") and "." not in m}
        assert len(copies) == 2
        # none added by the fleet (tests/firmware's conftest imports some bare, for the
        # firmware's own unit tests, into whichever worker process ran them before)
        assert not ({p.stem for p in FIRMWARE_DIR.glob("*.py")} & set(sys.modules)) - bare_before
    finally:
        await asyncio.gather(*(c.stop() for c in fleet.values()))


def test_a_staged_rollout_on_a_simulated_fleet_of_200(broker: Mosquitto, tmp_path: Path) -> None:
    started = time.monotonic()
    asyncio.run(rollouts(broker, tmp_path))
    print(f"200 cabinets, a halted and a complete rollout: {time.monotonic() - started:.1f} s")
