"""`simulate` on a loaded event loop: a task that holds the loop for 300 ms every second slows
simulated time, and every scheduled step still reaches the firmware; a load the firmware's
real-time timeouts cannot tolerate ends in an inconclusive verdict (exit 2), never in a list
of differences blamed on the product."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import pytest
from rich.console import Console

from aedfleet.simulator.simulation import LAG_LIMIT_S, Load, simulate

pytestmark = [pytest.mark.slow, pytest.mark.services, pytest.mark.serial]


def holding_the_loop(block_s: float, every_s: float) -> Load:
    """A task that blocks the event loop for `block_s` every `every_s`, as a CPU-bound task
    would (a JSON dump, a compression) that forgot to use a thread."""

    async def load() -> None:
        while True:
            await asyncio.sleep(every_s - block_s)
            time.sleep(block_s)

    return load


def test_a_loop_held_300_ms_every_second_slows_the_run_and_loses_no_step(tmp_path: Path) -> None:
    shown = io.StringIO()
    outcome = simulate(
        cabinets=20, scenarios="broker_restart,emergency_opening", seed=5, speed=120,
        workdir=tmp_path / "sim", console=Console(file=shown, width=200),
        load=holding_the_loop(0.3, 1.0),
    )  # fmt: skip
    printed = shown.getvalue()
    # every scheduled step reached the firmware at its simulated time
    assert outcome.timelines and all(t.honoured for t in outcome.timelines.values()), printed
    assert outcome.honoured == len(outcome.timelines) == 2
    # ... and the firmware reported every opening, closing and maintenance visit
    assert outcome.mismatches == [], printed
    assert outcome.exit_code == 0 and outcome.verdict.startswith("passed"), printed
    # the clock gave way instead: it counted at most 0.1 s of each 0.3 s the loop was held
    assert outcome.effective_speed < 0.9 * outcome.speed, printed
    assert 0.25 <= outcome.worst_lag_s < LAG_LIMIT_S, printed
    assert f"{outcome.effective_speed:.1f} achieved" in printed
    assert "2 of 2 cabinets' timelines honoured exactly" in printed


def test_a_load_past_the_firmwares_timeouts_makes_the_verdict_inconclusive(
    tmp_path: Path,
) -> None:
    shown = io.StringIO()
    outcome = simulate(
        cabinets=20, scenarios="door_ajar", seed=5, speed=120, duration_ms=4 * 60_000,
        workdir=tmp_path / "sim", console=Console(file=shown, width=200),
        load=holding_the_loop(LAG_LIMIT_S + 0.5, LAG_LIMIT_S + 1.0),
    )  # fmt: skip
    printed = shown.getvalue()
    assert outcome.worst_lag_s > LAG_LIMIT_S
    # cut at 4 minutes, door_ajar cannot raise its alarm: that must not be read as a defect
    assert outcome.mismatches, printed
    assert outcome.exit_code == 2, printed
    assert outcome.verdict == f"inconclusive: the simulator fell behind by {outcome.behind_s:.1f} s"
    assert outcome.behind_s > LAG_LIMIT_S
    assert outcome.verdict in printed
