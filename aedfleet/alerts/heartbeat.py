"""Pure: when the fleet-wide readiness heartbeat is due (every cabinet's `readiness`,
`cabinet_state`, `firmware` and, at the first, `readiness_change` point; docs/storage.md), and
on the same cadence, when the rules' sweep of every cabinet (their timers) is.

The first one comes one interval after the collector starts, not at once: a collector that
starts with a backlog queued by the broker folds it first, so the heartbeat records the fleet as
the backlog left it, not as it was before the outage (which would write the whole fleet twice
within seconds, and a false state change for every cabinet that reported meanwhile). A cabinet
whose state changes is written at once, heartbeat or not.
"""

from __future__ import annotations


class Heartbeat:
    def __init__(self, every_ms: int, started_ms: int) -> None:
        self._every_ms = every_ms
        self._last_ms = started_ms

    def due(self, now_ms: int) -> bool:
        """True once per interval; the interval counts from the last heartbeat written."""
        if now_ms - self._last_ms < self._every_ms:
            return False
        self._last_ms = now_ms
        return True
