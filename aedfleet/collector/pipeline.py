"""Pure per-message core: validate, deduplicate, encode. Counts everything it sees, and says
what each message was: stored, a duplicate, rejected, or our own config echoed back."""

from __future__ import annotations

from collections import Counter, OrderedDict
from typing import ClassVar, Final

import msgspec

from aedfleet.collector import protocol as p
from aedfleet.collector.enrich import PointEncoder
from aedfleet.collector.validate import Rejection, Validator

# An unsynced message is stamped with its arrival time, so a redelivery would be a new point:
# these recent sequence numbers per cabinet catch the repeat (see docs/storage.md).
RECENT_UNSYNCED_PER_CABINET: Final = 256
MAX_CABINETS_TRACKED: Final = 20_000


class Stored(msgspec.Struct, frozen=True, gc=False):
    """A new valid message: its line to store, and the message for the alert engine."""

    line: str
    message: p.DeviceMessage


class Duplicate(msgspec.Struct, frozen=True, gc=False):
    """A repeat of a recent unsynced message: nothing to store, only to acknowledge. The alert
    engine still sees it (it ignores what it has already folded)."""

    message: p.DeviceMessage
    line: ClassVar[str] = ""


class Rejected(msgspec.Struct, frozen=True, gc=False):
    """Not protocol v1: its dead letter line, and why."""

    line: str
    rejection: Rejection


class ConfigEcho(msgspec.Struct, frozen=True, gc=False):
    """Our own retained config echoed back: nothing to store, only to acknowledge."""

    config: p.Config
    line: ClassVar[str] = ""


# msgspec structs: built in C, so the typed result costs the hot path next to nothing
Outcome = Stored | Duplicate | Rejected | ConfigEcho


class Counts:
    """Plain integers on the hot path; metrics.py reads them at scrape time."""

    __slots__ = ("duplicates", "invalid", "received", "unknown_cabinet", "valid")

    def __init__(self) -> None:
        self.received = 0
        self.valid = 0
        self.invalid: Counter[str] = Counter()
        self.unknown_cabinet = 0
        self.duplicates = 0


class RecentSequences:
    """Bounded memory of the last sequence numbers seen per cabinet (least recent forgotten)."""

    def __init__(self, per_cabinet: int, max_cabinets: int) -> None:
        self._per_cabinet = per_cabinet
        self._max_cabinets = max_cabinets
        self._seen: OrderedDict[str, OrderedDict[int, None]] = OrderedDict()

    def seen_before(self, cabinet_id: str, seq: int) -> bool:
        """Record `seq`; True if it was already recorded."""
        recent = self._seen.get(cabinet_id)
        if recent is None:
            recent = self._seen[cabinet_id] = OrderedDict()
            if len(self._seen) > self._max_cabinets:
                self._seen.popitem(last=False)
        self._seen.move_to_end(cabinet_id)
        if seq in recent:
            return True
        recent[seq] = None
        if len(recent) > self._per_cabinet:
            recent.popitem(last=False)
        return False


class Pipeline:
    __slots__ = ("_encoder", "_last_dead_letter_ms", "_recent", "_validator", "counts")

    def __init__(self, validator: Validator, encoder: PointEncoder) -> None:
        self._validator = validator
        self._encoder = encoder
        self._recent = RecentSequences(RECENT_UNSYNCED_PER_CABINET, MAX_CABINETS_TRACKED)
        self._last_dead_letter_ms = 0
        self.counts = Counts()

    def line_for(self, topic: str, payload: bytes, arrival_ms: int) -> Outcome:
        """What one message was, with the line to store for it ("" when there is none)."""
        counts = self.counts
        counts.received += 1
        result = self._validator.validate(topic, payload, arrival_ms)
        if isinstance(result, Rejection):
            counts.invalid[result.code] += 1
            # distinct timestamps, so two dead letters in one millisecond both stay
            stamp_ms = max(arrival_ms, self._last_dead_letter_ms + 1)
            self._last_dead_letter_ms = stamp_ms
            return Rejected(self._encoder.dead_letter(result, payload, stamp_ms), result)
        counts.valid += 1
        if isinstance(result, p.Config):
            return ConfigEcho(result)
        if not self._encoder.is_known(result.id):
            counts.unknown_cabinet += 1
        if not result.sync and self._recent.seen_before(result.id, result.seq):
            counts.duplicates += 1
            return Duplicate(result)
        return Stored(self._encoder.encode(result, arrival_ms), result)
