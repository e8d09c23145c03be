"""Pure: a validated message plus the cabinet inventory becomes line protocol.

The schema is docs/storage.md. Tag sets are built once per cabinet and cached, so the hot path
is one f-string per message. InfluxDB's ingest cost grows with the number of field values, so a
telemetry message stores its measured readings every time (`telemetry`) and the switch states
and device facts (`device`: door, AED, mains, heater, firmware, expiry dates, counters) only
when they change or once an hour.
"""

from __future__ import annotations

import datetime
from typing import Final

from aedfleet.collector import lineprotocol as lp
from aedfleet.collector import protocol as p
from aedfleet.collector.clock import days_until
from aedfleet.collector.inventory import Inventory
from aedfleet.collector.validate import Rejection

UNKNOWN: Final = "unknown"
DEAD_LETTER_PAYLOAD_BYTES: Final = 512
DEAD_LETTER_TOPIC_CHARS: Final = 256
DEVICE_EVERY_MS: Final = 3_600_000


class _Seen:
    """What the encoder keeps of one cabinet, in one place: each message looks it up once (at
    10,000 cabinets, every separate dictionary keyed by cabinet is another cache miss)."""

    __slots__ = ("device", "device_ms", "known", "tags")

    def __init__(self, tags: str, known: bool) -> None:
        self.tags = tags
        self.known = known
        self.device: tuple[object, ...] = ()  # what the last `device` point said
        self.device_ms = 0  # and its device time


class PointEncoder:
    """Encodes messages as line protocol for one fleet (its inventory and local time zone)."""

    __slots__ = ("_inventory", "_seen", "_utc_offset_minutes")

    def __init__(self, inventory: Inventory, *, utc_offset_minutes: int = 480) -> None:
        self._inventory = inventory
        self._utc_offset_minutes = utc_offset_minutes
        self._seen: dict[str, _Seen] = {}

    def _cabinet(self, cabinet_id: str) -> _Seen:
        seen = self._seen.get(cabinet_id)
        if seen is None:
            cabinet = self._inventory.get(cabinet_id)
            tags = lp.tag_set(
                {
                    "cabinet": cabinet_id,
                    "district": cabinet.district if cabinet else UNKNOWN,
                    "site": cabinet.site if cabinet else UNKNOWN,
                    "known": "true" if cabinet else "false",
                }
            )
            seen = self._seen[cabinet_id] = _Seen(tags, known=cabinet is not None)
        return seen

    def is_known(self, cabinet_id: str) -> bool:
        return self._cabinet(cabinet_id).known

    def tags(self, cabinet_id: str) -> str:
        """`,cabinet=..,district=..,known=..,site=..` for a cabinet, cached."""
        return self._cabinet(cabinet_id).tags

    def place(self, cabinet_id: str) -> str:
        """`,name=..,lat=..,lon=..` fields from the inventory (for maps and tables), or ''."""
        cabinet = self._inventory.get(cabinet_id)
        if cabinet is None:
            return ""
        return f",name={lp.string(cabinet.name)},lat={cabinet.lat!r},lon={cabinet.lon!r}"

    def days_until(self, expiry: datetime.date, ts_ms: int) -> int:
        """Whole days from the message's local date to the expiry date; negative once expired."""
        return days_until(expiry, ts_ms, self._utc_offset_minutes)

    def encode(self, message: p.DeviceMessage, arrival_ms: int) -> str:
        stamp_ms = message.ts if message.sync else arrival_ms
        seen = self._cabinet(message.id)
        tags = seen.tags
        if isinstance(message, p.Telemetry):
            line = f"telemetry{tags} seq={message.seq}i,{_telemetry_fields(message)} {stamp_ms}"
            device = self._device_fields(message, stamp_ms, seen)
            return f"{line}\ndevice{tags} {device} {stamp_ms}" if device else line
        common = f"seq={message.seq}i,sync={lp.boolean(message.sync)}"
        if isinstance(message, p.Online | p.Offline | p.Sleeping):
            state = message.__struct_config__.tag
            return f"status{tags},state={state} {common}{_status_fields(message)} {stamp_ms}"
        event = message.__struct_config__.tag
        delay_ms = arrival_ms - message.ts if message.sync else 0
        fields = f"{common},delay_ms={delay_ms}i{_event_fields(message)}"
        return f"event{tags},ev={event} {fields} {stamp_ms}"

    def _device_fields(self, t: p.Telemetry, stamp_ms: int, seen: _Seen) -> str | None:
        """The `device` fields when they changed or an hour passed, else None."""
        facts = (
            t.door, t.aed, t.maint, t.mains, t.heater, t.fw, t.pad_exp, t.batt_exp, t.sync,
            t.reconn, t.drop,
        )  # fmt: skip
        if seen.device == facts and 0 <= stamp_ms - seen.device_ms < DEVICE_EVERY_MS:
            return None
        seen.device, seen.device_ms = facts, stamp_ms
        fields = (
            f"seq={t.seq}i,door_open={lp.boolean(t.door)},aed_present={lp.boolean(t.aed)},"
            f"maintenance={lp.boolean(t.maint)},mains={lp.boolean(t.mains)},"
            f"heater={lp.boolean(t.heater)},sync={lp.boolean(t.sync)},fw={lp.string(t.fw)},"
            f"reconnects={t.reconn}i,uptime_s={t.up_s}i,free_mem_bytes={t.mem}i,"
            f"dropped={t.drop}i"
        )
        if t.pad_exp is not None:
            fields += f',pad_exp="{t.pad_exp}",pad_days={self.days_until(t.pad_exp, t.ts)}i'
        if t.batt_exp is not None:
            fields += f',batt_exp="{t.batt_exp}",batt_days={self.days_until(t.batt_exp, t.ts)}i'
        return fields

    def dead_letter(self, rejection: Rejection, payload: bytes, stamp_ms: int) -> str:
        kind = rejection.topic.rsplit("/", 1)[-1] if rejection.cabinet_id else UNKNOWN
        return dead_letter_line(
            reason=rejection.code,
            kind=kind,
            detail=rejection.detail,
            topic=rejection.topic,
            payload=payload,
            cabinet_id=rejection.cabinet_id or "",
            stamp_ms=stamp_ms,
        )


def dead_letter_line(
    *,
    reason: str,
    kind: str,
    detail: str,
    topic: str,
    payload: bytes,
    cabinet_id: str,
    stamp_ms: int,
) -> str:
    """A `dead_letter` point: why, and an escaped, truncated copy of what arrived."""
    fields = ",".join(
        [
            f"detail={lp.string(detail)}",
            f"topic={lp.string(lp.printable(topic.encode(), DEAD_LETTER_TOPIC_CHARS))}",
            f"payload={lp.string(lp.printable(payload, DEAD_LETTER_PAYLOAD_BYTES))}",
            f"size={len(payload)}i",
            f"cabinet={lp.string(cabinet_id)}",
        ]
    )
    return f"dead_letter,kind={lp.tag(kind)},reason={lp.tag(reason)} {fields} {stamp_ms}"


def _telemetry_fields(t: p.Telemetry) -> str:
    temp = "" if t.temp_dc is None else f"temp_c={t.temp_dc / 10!r},"  # no reading: left out
    fields = f"batt_v={t.batt_mv / 1000!r},{temp}rssi_dbm={t.rssi}i"
    if t.hum_pct is not None:
        fields += f",hum_pct={float(t.hum_pct)!r}"
    return fields


def _status_fields(message: p.Online | p.Offline | p.Sleeping) -> str:
    if isinstance(message, p.Online):
        return f",fw={lp.string(message.fw)}"
    if isinstance(message, p.Sleeping):
        return f",wake_ms={message.wake}i"
    return ""


def _event_fields(message: p.DeviceMessage) -> str:
    match message:
        case p.DoorClose(open_s=seconds):
            return f",open_s={seconds}i"
        case p.AedReturned(out_s=seconds):
            return f",out_s={seconds}i"
        case p.MaintExit(dur_s=seconds):
            return f",dur_s={seconds}i"
        case p.SelfTest(ok=ok):
            return f",ok={lp.boolean(ok)}"
        case p.Fault(code=code):
            return f",code={lp.string(code)}"
        case p.ConfigApplied(rev=revision):
            return f",rev={revision}i"
        case p.Boot(reset=reset, fw=fw):
            return f",reset={lp.string(reset)},fw={lp.string(fw)}"
        case p.OtaFailed(fw=fw, reason=reason):
            return f",fw={lp.string(fw)},reason={lp.string(reason)}"
        case p.OtaRolledBack(fw=fw, from_=abandoned):
            return f",fw={lp.string(fw)},from={lp.string(abandoned)}"
        case p.OtaStarted(fw=fw) | p.OtaApplied(fw=fw):
            return f",fw={lp.string(fw)}"
    return ""
