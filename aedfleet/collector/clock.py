"""The collector's one wall clock: integer milliseconds since 1970, as the protocol counts."""

from __future__ import annotations

import time


def wall_ms() -> int:
    return time.time_ns() // 1_000_000
