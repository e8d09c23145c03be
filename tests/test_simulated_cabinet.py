"""The firmware's App on the simulated board under CPython, as the simulator and demo run it."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from aedfleet.services import free_port
from aedfleet.simulator.clock import SimClock
from aedfleet.simulator.environment import Environment
from aedfleet.simulator.simulated_cabinet import SimulatedCabinet
from tests.support.harness import until

pytestmark = pytest.mark.asyncio


async def test_opening_outside_maintenance_sounds_the_alarm_and_queues_the_event(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    clock = SimClock()
    cabinet = SimulatedCabinet(
        "bz-bc-001", broker=f"mqtt://127.0.0.1:{free_port()}", password="x",
        data_dir=tmp_path, log=lines.append, debounce_ms=10, poll_ms=5, clock=clock,
        environment=Environment(random.Random(1), indoor=True, start_ms=clock.start_ms),
    )  # fmt: skip
    cabinet.start()
    try:
        await until(lambda: "bz-bc-001 event: boot" in lines, 30, "the cabinet's boot")
        assert cabinet.board.buzzer is False
        cabinet.set("door", True)
        await until(lambda: cabinet.board.buzzer, 30, "the buzzer")
        assert "bz-bc-001 event: door_open" in lines
        cabinet.set("maint", True)  # the technician's key silences it
        await until(lambda: not cabinet.board.buzzer, 30, "the buzzer silenced")
        assert "bz-bc-001 event: maint_enter" in lines
        # the broker is unreachable: everything waits in the outbox, events first to go
        assert cabinet.app is not None and len(cabinet.app.outbox) >= 3
        assert cabinet.board.led is False
    finally:
        await cabinet.stop()
