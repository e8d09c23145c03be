"""The simulation's clock: it runs at its speed, stops at a scheduled step until the step is
done, and slows instead of jumping ahead when the event loop falls behind."""

from __future__ import annotations

import asyncio
import time

import pytest

from aedfleet.simulator.clock import Moment, SimClock
from tests.support.harness import until

pytestmark = pytest.mark.serial

START = 1_764_547_200_000


class Real:
    """Real time, moved by the test."""

    def __init__(self) -> None:
        self.s = 100.0

    def __call__(self) -> float:
        return self.s


def test_it_runs_at_its_speed_until_a_scheduled_step_then_waits_there_until_it_is_done() -> None:
    real = Real()
    clock = SimClock(speed=60, start_ms=START, monotonic=real)
    step = clock.moment(90_000)
    real.s += 1
    assert clock.elapsed_ms() == 60_000
    real.s += 10  # the step is not done: the clock stands at it
    assert clock.elapsed_ms() == 90_000 and clock.now_ms() == START + 90_000
    step.release()
    assert clock.elapsed_ms() == 90_000  # going on from there, never jumping ahead
    real.s += 0.5
    assert clock.elapsed_ms() == 120_000


def test_steps_at_the_same_moment_all_hold_it_and_a_step_asked_for_too_late_says_so() -> None:
    real = Real()
    clock = SimClock(speed=10, start_ms=START, monotonic=real)
    first, second = clock.moment(5000), clock.moment(5000)
    real.s += 3
    first.release()
    first.release()  # once only
    real.s += 1
    assert clock.elapsed_ms() == 5000
    second.release()
    real.s += 1
    assert clock.elapsed_ms() == 15_000
    late = clock.moment(12_000)
    assert late.late_ms == 3000 and late.at_ms == 15_000


def test_a_clock_never_goes_back_whatever_the_order_of_steps() -> None:
    real = Real()
    clock = SimClock(speed=60, start_ms=START, monotonic=real)
    moments = [clock.moment(at) for at in (50_000, 20_000, 80_000)]
    seen = []
    for moment in sorted(moments, key=lambda m: m.at_ms):
        real.s += 2
        seen.append(clock.elapsed_ms())
        moment.release()
        seen.append(clock.elapsed_ms())
    real.s += 1
    seen.append(clock.elapsed_ms())
    assert seen == sorted(seen) == [20_000, 20_000, 50_000, 50_000, 80_000, 80_000, 140_000]


@pytest.mark.asyncio
async def test_a_blocked_event_loop_slows_simulated_time_and_its_lag_is_measured() -> None:
    clock = SimClock(speed=60, start_ms=START)
    pacing = asyncio.create_task(clock.pace(every_s=0.02, bound_s=0.05))
    try:
        await asyncio.sleep(0)  # one turn: the pacer starts and bounds the clock
        await until(lambda: clock.elapsed_ms() > 0, 30, "the pacer running")
        before = clock.elapsed_ms()
        blocked = 0.4
        time.sleep(blocked)  # a task that holds the loop: the point of this test
        gained = clock.elapsed_ms() - before
        # at full speed 0.4 s would be 24 simulated seconds; the clock counted at most 50 ms
        assert gained <= (0.05 + 0.02) * 60_000
        await until(lambda: clock.worst_lag_s >= blocked - 0.05, 30, "the lag measured")
    finally:
        pacing.cancel()
        await asyncio.gather(pacing, return_exceptions=True)


@pytest.mark.asyncio
async def test_a_step_waits_for_its_moment_and_holds_the_clock_while_it_runs() -> None:
    clock = SimClock(speed=1000, start_ms=START)
    order: list[tuple[str, int]] = []

    async def step(name: str, moment: Moment, takes_s: float) -> None:
        async with moment:
            order.append((name, clock.elapsed_ms()))
            await asyncio.sleep(takes_s)

    # scheduled before they run, as the fleet runner does: the clock cannot pass them unseen
    later, first = clock.moment(200), clock.moment(100)
    await asyncio.gather(step("later", later, 0.0), step("first", first, 0.2))
    assert order == [("first", 100), ("later", 200)]  # 0.2 s = 200 ms at 1000x, not passed


@pytest.mark.asyncio
async def test_at_low_speed_a_late_loop_costs_the_timeline_little_and_is_not_slowed() -> None:
    clock = SimClock(speed=1, start_ms=START)
    pacing = asyncio.create_task(clock.pace(every_s=0.02))
    try:
        await asyncio.sleep(0)  # one turn: the pacer starts and bounds the clock
        await until(lambda: clock.elapsed_ms() > 0, 30, "the pacer running")
        before = clock.elapsed_ms()
        time.sleep(0.3)  # 300 simulated ms: well within the alert engine's 6 s tick
        assert clock.elapsed_ms() - before >= 300
    finally:
        pacing.cancel()
        await asyncio.gather(pacing, return_exceptions=True)
