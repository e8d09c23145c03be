"""The collector's one wall clock: integer milliseconds since 1970, as the protocol counts;
and the local calendar day such a moment falls on, by which pads and batteries expire."""

from __future__ import annotations

import datetime
import time
from typing import Final

_EPOCH_ORDINAL: Final = datetime.date(1970, 1, 1).toordinal()
_MS_PER_DAY: Final = 86_400_000


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def local_date(now_ms: int, utc_offset_minutes: int) -> datetime.date:
    """The local calendar day at `now_ms`: in China it is already tomorrow from 16:00 UTC."""
    return datetime.date.fromordinal(
        _EPOCH_ORDINAL + (now_ms + utc_offset_minutes * 60_000) // _MS_PER_DAY
    )


def days_until(expiry: datetime.date, now_ms: int, utc_offset_minutes: int) -> int:
    """Whole days from the local date at `now_ms` to `expiry`; negative once expired."""
    today = (now_ms + utc_offset_minutes * 60_000) // _MS_PER_DAY
    return expiry.toordinal() - _EPOCH_ORDINAL - today
