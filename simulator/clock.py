"""The simulation's clock: calendar time that can run faster than real time, so hours of a
scenario (an AED out for 40 minutes, a battery draining, a cabinet gone silent) pass in
seconds. Network timings (keepalive, timeouts, debounce) stay real: only dates and the
collector's hold times see the faster clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


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
        self._origin = monotonic()

    def now_ms(self) -> int:
        """Simulated milliseconds since 1970."""
        return self.start_ms + int((self._monotonic() - self._origin) * 1000 * self.speed)

    def elapsed_ms(self) -> int:
        """Simulated milliseconds since the run began."""
        return self.now_ms() - self.start_ms

    def real_s(self, simulated_ms: float) -> float:
        """How long `simulated_ms` takes in real seconds."""
        return simulated_ms / 1000 / self.speed

    async def sleep_until(self, elapsed_ms: int) -> None:
        """Wait until the simulated run is `elapsed_ms` old."""
        while (left := elapsed_ms - self.elapsed_ms()) > 0:
            await asyncio.sleep(self.real_s(left))
