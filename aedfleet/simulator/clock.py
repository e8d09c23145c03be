"""The simulation's clock: calendar time that can run faster than real time, so hours of a
scenario (an AED out for 40 minutes, a battery draining, a cabinet gone silent) pass in
seconds. Network timings (keepalive, timeouts, debounce) stay real: only dates and the
collector's hold times see the faster clock.

Simulated time never runs ahead of what the simulator can honour (virtual-time style):
- a scheduled step is a `Moment` the clock stops at until the step has been carried out, so
  every step happens at its simulated time relative to the others, however long it takes;
- while paced (`pace()` running), the clock advances at most BOUND_S of real time (or
  BOUND_MS of simulated time at low speeds) per turn of the event loop: when the loop is busy,
  simulated time slows instead of jumping ahead.
The achieved speed and the worst lag of the loop are measured all along."""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from types import TracebackType
from typing import Final

PACE_S: Final = 0.05  # how often the pacer measures the event loop
BOUND_S: Final = 0.1  # the most real time the clock counts between two turns of the pacer
BOUND_MS: Final = 6000  # ... unless that is less simulated time than this (the alert tick)
WAIT_S: Final = 0.05  # how often a task waiting for a moment looks at the clock


class SimClock:
    def __init__(
        self,
        speed: float = 1.0,
        start_ms: int | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, not {speed}")
        self.speed = speed
        self.start_ms = time.time_ns() // 1_000_000 if start_ms is None else start_ms
        self._monotonic = monotonic
        self._anchor_ms = 0  # simulated elapsed time at the anchor
        self._anchor_s = monotonic()  # real time at the anchor
        self._bound_s: float | None = None  # set while paced
        self._moments: dict[int, int] = {}  # elapsed ms -> moments not yet released there
        self._heap: list[int] = []  # the same times, smallest first (stale ones popped lazily)
        self.worst_lag_s = 0.0  # the event loop's worst delay past a due timer, while paced
        self.worst_lag_at_ms = 0  # simulated elapsed time when it happened

    def elapsed_ms(self) -> int:
        """Simulated milliseconds since the run began."""
        real_s = self._monotonic() - self._anchor_s
        if self._bound_s is not None:
            real_s = min(real_s, self._bound_s)
        elapsed = self._anchor_ms + int(real_s * 1000 * self.speed)
        return min(elapsed, self._heap[0]) if self._heap else elapsed

    def now_ms(self) -> int:
        """Simulated milliseconds since 1970."""
        return self.start_ms + self.elapsed_ms()

    def set_speed(self, speed: float) -> None:
        """Run faster or slower from now on (the demo's fast night); time never goes back."""
        if speed <= 0:
            raise ValueError(f"speed must be positive, not {speed}")
        self._rebase()
        self.speed = speed

    def real_s(self, simulated_ms: float) -> float:
        """How long `simulated_ms` takes in real seconds at the full speed."""
        return simulated_ms / 1000 / self.speed

    def _rebase(self) -> None:
        """Count from here: what the clock reads now stays, so it never goes back."""
        self._anchor_ms, self._anchor_s = self.elapsed_ms(), self._monotonic()

    # --- moments: scheduled steps the clock waits for ----------------------------------

    def moment(self, elapsed_ms: int) -> Moment:
        """A point of simulated time the clock will not pass until the moment is released.
        One asked for in the past stops the clock where it is and says how late it was."""
        now = self.elapsed_ms()
        at = max(elapsed_ms, now)
        if at not in self._moments:
            heapq.heappush(self._heap, at)
        self._moments[at] = self._moments.get(at, 0) + 1
        return Moment(self, at, late_ms=at - elapsed_ms)

    def _release(self, at: int) -> None:
        self._rebase()  # the clock stood at the moment: it goes on from there, not beyond
        left = self._moments[at] - 1
        if left:
            self._moments[at] = left
            return
        del self._moments[at]
        while self._heap and self._heap[0] not in self._moments:
            heapq.heappop(self._heap)

    async def sleep_until(self, elapsed_ms: int) -> None:
        """Wait until the simulated run is `elapsed_ms` old."""
        while (left := elapsed_ms - self.elapsed_ms()) > 0:
            await asyncio.sleep(min(self.real_s(left), WAIT_S))

    # --- pacing: simulated time slows when the event loop falls behind -----------------

    async def pace(self, every_s: float = PACE_S, bound_s: float | None = None) -> None:
        """Until cancelled: measure the event loop's lag, and let the clock count at most
        `bound_s` of real time between two turns, so a blocked loop pauses simulated time.
        By default BOUND_S, or BOUND_MS of simulated time if that is longer: at speed 1 a
        loop a second late costs the timeline nothing, and slowing would only stretch the run."""
        self._rebase()
        self._bound_s = bound_s or max(BOUND_S, self.real_s(BOUND_MS))
        last = self._monotonic()
        try:
            while True:
                await asyncio.sleep(every_s)
                now = self._monotonic()
                if (lag := now - last - every_s) > self.worst_lag_s:
                    self.worst_lag_s, self.worst_lag_at_ms = lag, self.elapsed_ms()
                self._rebase()
                last = now
        finally:
            self._rebase()
            self._bound_s = None


class Moment:
    """A scheduled step's point of simulated time; `async with` waits until the clock gets
    there and holds it there until the step is done."""

    __slots__ = ("_clock", "_released", "at_ms", "late_ms")

    def __init__(self, clock: SimClock, at_ms: int, *, late_ms: int) -> None:
        self._clock = clock
        self.at_ms = at_ms
        self.late_ms = late_ms  # how far the clock had passed it when it was asked for
        self._released = False

    async def arrive(self) -> None:
        await self._clock.sleep_until(self.at_ms)

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._clock._release(self.at_ms)

    async def __aenter__(self) -> Moment:
        await self.arrive()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
