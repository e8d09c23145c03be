"""Pure rate limiting for log lines, so a hostile or broken sender cannot flood the log."""

from __future__ import annotations


class RateLimiter:
    """At most one line per key per window; tells how many were held back since."""

    def __init__(self, window_ms: int) -> None:
        self._window_ms = window_ms
        self._last_ms: dict[str, int] = {}
        self._held: dict[str, int] = {}

    def allow(self, key: str, now_ms: int) -> int | None:
        """None to stay quiet; otherwise the number of lines suppressed before this one."""
        last = self._last_ms.get(key)
        if last is not None and now_ms - last < self._window_ms:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        self._last_ms[key] = now_ms
        return self._held.pop(key, 0)
