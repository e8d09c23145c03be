"""Protocol v1: the one machine-readable definition of every aedfleet MQTT payload.

docs/protocol.md explains each field; tests/vectors/ holds the golden examples.
Field order in each Struct is the order the firmware writes them in.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Final, Literal, get_args

import msgspec

PROTOCOL_VERSION: Final = 1
MAX_PAYLOAD_BYTES: Final = 1024
MAX_SEQ: Final = 2**32 - 1
# Device timestamps are integer milliseconds since 1970-01-01 UTC.
MAX_TS_MS: Final = 2**53
EARLIEST_SYNCED_TS_MS: Final = 1_577_836_800_000  # 2020-01-01: an older synced clock is wrong
# the service accounts' names (aedfleet-collector, aedfleet-operator) share the broker's user
# names with cabinets: no cabinet id may start like them
RESERVED_ID_PREFIX: Final = "aedfleet-"
CABINET_ID_PATTERN: Final = rf"^(?!{RESERVED_ID_PREFIX})[a-z0-9][a-z0-9-]{{1,30}}[a-z0-9]$"

FIRMWARE_VERSION_PATTERN: Final = r"^[0-9A-Za-z.+_-]{1,24}$"

# These two patterns are checked by the validator, not by msgspec as it decodes: a regex for
# each on every message was two thirds of the decode's cost, and a fleet repeats the same few
# values. A payload's id must equal its topic's, whose id is checked once per topic; each
# distinct firmware version is checked once (validate.py).
CabinetId = str
FirmwareVersion = Annotated[str, msgspec.Meta(min_length=1, max_length=24)]
Seq = Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)]
TimestampMs = Annotated[int, msgspec.Meta(ge=0, le=MAX_TS_MS)]
Seconds = Annotated[int, msgspec.Meta(ge=0, le=10 * 365 * 86400)]
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)]
FaultCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_]{1,32}$")]
Millivolts = Annotated[int, msgspec.Meta(ge=0, le=30_000)]
DeciCelsius = Annotated[int, msgspec.Meta(ge=-600, le=1250)]
Percent = Annotated[int, msgspec.Meta(ge=0, le=100)]
RssiDbm = Annotated[int, msgspec.Meta(ge=-127, le=0)]
FreeBytes = Annotated[int, msgspec.Meta(ge=0, le=64 * 1024 * 1024)]
ConfigRevision = Annotated[int, msgspec.Meta(ge=1, le=MAX_SEQ)]
TelemetryIntervalS = Annotated[int, msgspec.Meta(ge=10, le=86_400)]
ResetCause = Literal[
    "power_on", "hard", "soft", "watchdog", "deep_sleep", "brownout", "panic", "unknown"
]

KINDS: Final = ("event", "telemetry", "status", "config")


# gc=False: messages hold only scalars, so the cyclic GC need not track thousands a second
class _Base(msgspec.Struct, forbid_unknown_fields=True, frozen=True, omit_defaults=True, gc=False):
    v: Literal[1]
    id: CabinetId


class _DeviceMessage(_Base, frozen=True):
    """What every message a cabinet sends carries: who, which one, and when."""

    seq: Seq
    ts: TimestampMs
    sync: bool


class _Event(_DeviceMessage, frozen=True, tag_field="ev"):
    pass


class Boot(_Event, frozen=True, tag="boot"):
    reset: ResetCause
    fw: FirmwareVersion


class DoorOpen(_Event, frozen=True, tag="door_open"):
    pass


class DoorClose(_Event, frozen=True, tag="door_close"):
    open_s: Seconds


class AedRemoved(_Event, frozen=True, tag="aed_removed"):
    pass


class AedReturned(_Event, frozen=True, tag="aed_returned"):
    out_s: Seconds


class Tamper(_Event, frozen=True, tag="tamper"):
    pass


class MaintEnter(_Event, frozen=True, tag="maint_enter"):
    pass


class MaintExit(_Event, frozen=True, tag="maint_exit"):
    dur_s: Seconds


class MainsLost(_Event, frozen=True, tag="mains_lost"):
    pass


class MainsRestored(_Event, frozen=True, tag="mains_restored"):
    pass


class SelfTest(_Event, frozen=True, tag="self_test"):
    ok: bool


class Fault(_Event, frozen=True, tag="fault"):
    code: FaultCode


class ConfigApplied(_Event, frozen=True, tag="config_applied"):
    rev: ConfigRevision


# over-the-air updates (docs/ota.md): optional events of v1, revision 1.1
UpdateReason = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_]{1,32}$")]


class OtaStarted(_Event, frozen=True, tag="ota_started"):
    fw: FirmwareVersion  # the version being fetched


class OtaApplied(_Event, frozen=True, tag="ota_applied"):
    fw: FirmwareVersion  # the version that passed its trial and is now the known-good one


class OtaFailed(_Event, frozen=True, tag="ota_failed"):
    fw: FirmwareVersion  # the version refused or rolled back
    reason: UpdateReason


class OtaRolledBack(_Event, frozen=True, tag="ota_rolled_back"):
    fw: FirmwareVersion  # the version running again
    from_: FirmwareVersion = msgspec.field(name="from")  # the version abandoned


Event = (
    Boot
    | DoorOpen
    | DoorClose
    | AedRemoved
    | AedReturned
    | Tamper
    | MaintEnter
    | MaintExit
    | MainsLost
    | MainsRestored
    | SelfTest
    | Fault
    | ConfigApplied
    | OtaStarted
    | OtaApplied
    | OtaFailed
    | OtaRolledBack
)
EVENT_TYPES: Final = tuple(t.__struct_config__.tag for t in get_args(Event))


class Telemetry(_DeviceMessage, frozen=True):
    door: bool
    aed: bool
    maint: bool
    mains: bool
    batt_mv: Millivolts
    heater: bool
    rssi: RssiDbm
    reconn: Count
    up_s: Seconds
    mem: FreeBytes
    drop: Count
    fw: FirmwareVersion
    temp_dc: DeciCelsius | None = None  # left out while the cabinet has no sensor reading
    hum_pct: Percent | None = None
    pad_exp: datetime.date | None = None
    batt_exp: datetime.date | None = None


class _Status(_DeviceMessage, frozen=True, tag_field="state"):
    pass


class Online(_Status, frozen=True, tag="online"):
    fw: FirmwareVersion


class Offline(_Status, frozen=True, tag="offline"):
    pass


class Sleeping(_Status, frozen=True, tag="sleeping"):
    wake: TimestampMs


Status = Online | Offline | Sleeping
STATUS_STATES: Final = ("online", "offline", "sleeping")


Sha256Hex = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]


class FirmwareOffer(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A signed release offered to the cabinet (docs/ota.md): its manifest's size and SHA-256
    and the Ed25519 signature of the manifest, in base64."""

    ver: Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z._-]{1,24}$")]
    size: Annotated[int, msgspec.Meta(ge=1, le=4096)]
    sha256: Sha256Hex
    sig: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9+/]{86}==$")]


class Config(_Base, frozen=True):
    """Retained, server to cabinet: what a technician set at the last inspection."""

    rev: ConfigRevision
    ts: TimestampMs
    tele_s: TelemetryIntervalS
    pad_exp: datetime.date | None = None
    batt_exp: datetime.date | None = None
    temp_lo_dc: DeciCelsius | None = None
    temp_hi_dc: DeciCelsius | None = None
    heat_on_dc: DeciCelsius | None = None
    heat_off_dc: DeciCelsius | None = None
    fw: FirmwareOffer | None = None  # optional (v1.1): a release to install over the air


DeviceMessage = Event | Telemetry | Status
Message = DeviceMessage | Config
