"""Keeps the collector's long-running tasks alive: one that ends, for any reason, is logged at
ERROR, counted and started again after a capped backoff. No path leaves the process alive but
deaf."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Final

log = logging.getLogger("aedfleet.collector")

MIN_RESTART_S: Final = 0.5
MAX_RESTART_S: Final = 30.0
STEADY_S: Final = 60.0  # a task that ran this long before ending starts over at the minimum


async def supervise(
    name: str,
    work: Callable[[], Awaitable[None]],
    restarts: Counter[str],
    *,
    min_restart_s: float = MIN_RESTART_S,
) -> None:
    """Run `work()` until cancelled, restarting it whenever it returns or raises."""
    loop = asyncio.get_running_loop()
    backoff_s = min_restart_s
    while True:
        started = loop.time()
        try:
            await work()
            log.error("task %s ended by itself; restarting it in %.1f s", name, backoff_s)
        except Exception:
            log.exception("task %s failed; restarting it in %.1f s", name, backoff_s)
        restarts[name] += 1
        if loop.time() - started >= STEADY_S:
            backoff_s = min_restart_s
        await asyncio.sleep(backoff_s)
        backoff_s = min(MAX_RESTART_S, backoff_s * 2)
