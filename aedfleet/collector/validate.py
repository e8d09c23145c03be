"""Pure validation of one MQTT message against protocol v1: a typed message or a clear reason.

`Validator.validate` never raises on any topic and any bytes; the collector's hot path calls it
once per message, so the accept path is one msgspec decode plus a few integer comparisons.
"""

from __future__ import annotations

import re
from typing import Final, Literal, get_args

import msgspec

from aedfleet.collector import protocol
from aedfleet.collector.protocol import (
    FIRMWARE_VERSION_PATTERN,
    MAX_PAYLOAD_BYTES,
    Config,
    FirmwareVersion,
    Message,
    Sleeping,
)
from aedfleet.collector.topics import (
    DEFAULT_PREFIX,
    TopicError,
    TopicParts,
    is_cabinet_id,
    parse_topic,
)

RejectionCode = Literal[
    "bad_topic",
    "bad_cabinet_id",
    "empty_payload",
    "too_large",
    "not_utf8",
    "bad_json",
    "not_object",
    "unsupported_version",
    "missing_field",
    "unknown_field",
    "wrong_type",
    "out_of_range",
    "unknown_event",
    "unknown_state",
    "bad_value",
    "id_mismatch",
    "clock_skew",
]
REJECTION_CODES: Final[tuple[str, ...]] = get_args(RejectionCode)

DEFAULT_MAX_FUTURE_SKEW_MS: Final = 5 * 60 * 1000
MAX_CACHED_TOPICS: Final = 100_000
MAX_CACHED_VERSIONS: Final = 1_000
# A cabinet may come back after weeks offline with its outbox; older than this is a broken clock.
DEFAULT_MAX_AGE_MS: Final = 90 * 86_400 * 1000

_DECODERS: Final[dict[str, msgspec.json.Decoder[Message]]] = {
    "event": msgspec.json.Decoder(protocol.Event),
    "telemetry": msgspec.json.Decoder(protocol.Telemetry),
    "status": msgspec.json.Decoder(protocol.Status),
    "config": msgspec.json.Decoder(protocol.Config),
}
_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_FIRMWARE_VERSION: Final = re.compile(FIRMWARE_VERSION_PATTERN)
# per message type: the firmware versions it carries, as (attribute, name on the wire)
_VERSION_FIELDS: Final = {
    kind: tuple((f.name, f.encode_name) for f in msgspec.structs.fields(kind)
                if f.type == FirmwareVersion)
    for kind in get_args(Message)
}  # fmt: skip


class Rejection(msgspec.Struct, frozen=True):
    """A message that is not protocol v1, and why, in words an operator can act on."""

    code: RejectionCode
    detail: str
    topic: str
    cabinet_id: str | None = None


class Validator:
    """Checks topic, size, JSON, schema, ranges, identity and clock of each message."""

    __slots__ = (
        "_max_age_ms",
        "_max_future_skew_ms",
        "_max_payload_bytes",
        "_prefix",
        "_topics",
        "_versions",
    )

    def __init__(
        self,
        *,
        prefix: str = DEFAULT_PREFIX,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        max_future_skew_ms: int = DEFAULT_MAX_FUTURE_SKEW_MS,
        max_age_ms: int = DEFAULT_MAX_AGE_MS,
    ) -> None:
        self._prefix = prefix
        self._max_payload_bytes = max_payload_bytes
        self._max_future_skew_ms = max_future_skew_ms
        self._max_age_ms = max_age_ms
        # each cabinet uses a handful of topics again and again: parse each once
        self._topics: dict[str, TopicParts | TopicError] = {}
        # and run a handful of firmware versions: check each once
        self._versions: set[str] = set()

    def validate(self, topic: str, payload: bytes, now_ms: int) -> Message | Rejection:
        where = self._topics.get(topic)
        if where is None:
            where = parse_topic(topic, self._prefix)
            if len(self._topics) >= MAX_CACHED_TOPICS:
                self._topics.clear()  # a flood of made-up topics cannot grow memory
            self._topics[topic] = where
        if isinstance(where, TopicError):
            return Rejection(where.code, where.detail, topic)
        # the accept path is written out: it runs for every message
        if not payload or len(payload) > self._max_payload_bytes or not payload.isascii():
            problem = self._payload_problem(payload)
            if problem is not None:
                return Rejection(*problem, topic, where.cabinet_id)
        try:
            message = _DECODERS[where.kind].decode(payload)
        except msgspec.ValidationError as error:
            return Rejection(*_classify(str(error), payload), topic, where.cabinet_id)
        except (msgspec.DecodeError, UnicodeDecodeError) as error:
            return Rejection("bad_json", str(error), topic, where.cabinet_id)
        if message.id != where.cabinet_id:
            return _not_the_topics(message.id, topic, where.cabinet_id)
        problem = self._content_problem(message, now_ms)
        if problem is not None:
            return Rejection(*problem, topic, where.cabinet_id)
        return message

    def _content_problem(self, message: Message, now_ms: int) -> tuple[RejectionCode, str] | None:
        """What is wrong with a well-formed message of its cabinet, in one call: a malformed
        firmware version (each distinct one checked once), a synced clock out of bounds, or a
        message that contradicts itself."""
        for name, wire_name in _VERSION_FIELDS[type(message)]:
            version = getattr(message, name)
            if version not in self._versions and not self._is_version(version):
                return (
                    "bad_value",
                    f"{wire_name} {version!r} does not match {FIRMWARE_VERSION_PATTERN}",
                )
        # an unsynced clock says nothing: the collector stamps arrival time
        if isinstance(message, Config) or message.sync:
            ts = message.ts
            if not now_ms - self._max_age_ms <= ts <= now_ms + self._max_future_skew_ms or (
                ts < protocol.EARLIEST_SYNCED_TS_MS
            ):
                return "clock_skew", self._skew(ts, now_ms)
        if type(message) in _SELF_CONTRADICTING:
            inconsistent = _check_consistency(message)
            if inconsistent is not None:
                return "bad_value", inconsistent
        return None

    def _payload_problem(self, payload: bytes) -> tuple[RejectionCode, str] | None:
        if not payload:
            return "empty_payload", "empty payload (a cleared retained message)"
        if len(payload) > self._max_payload_bytes:
            return "too_large", (
                f"payload is {len(payload)} bytes; the limit is {self._max_payload_bytes}"
            )
        utf8_problem = _utf8_problem(payload)
        if utf8_problem is not None:
            return "not_utf8", utf8_problem
        return None

    def _is_version(self, version: str) -> bool:
        """Whether a version not seen before is well formed; remembered if it is."""
        if _FIRMWARE_VERSION.fullmatch(version) is None:
            return False
        if len(self._versions) >= MAX_CACHED_VERSIONS:
            self._versions.clear()  # made-up versions cannot grow memory
        self._versions.add(version)
        return True

    def _skew(self, ts: int, now_ms: int) -> str:
        """Why a synced `ts` is out of bounds."""
        earliest = max(protocol.EARLIEST_SYNCED_TS_MS, now_ms - self._max_age_ms)
        if ts < earliest:
            return f"ts {ts} is older than {earliest} (now {now_ms})"
        return f"ts {ts} is ahead of now {now_ms} by more than {self._max_future_skew_ms} ms"


def _not_the_topics(payload_id: str, topic: str, topics_id: str) -> Rejection:
    """A payload whose id differs from its topic's (which is well formed: checked first)."""
    if not is_cabinet_id(payload_id):
        detail = f"malformed cabinet id {payload_id!r} in the payload"
        return Rejection("bad_cabinet_id", detail, topic, topics_id)
    detail = f"payload id {payload_id!r} differs from the topic's"
    return Rejection("id_mismatch", detail, topic, topics_id)


def _utf8_problem(payload: bytes) -> str | None:
    """Say why a payload is not UTF-8, checked here rather than read from the JSON decoder's
    exception type, which changed between msgspec releases (0.23 raises DecodeError)."""
    if payload.isascii():  # nearly every payload: a C scan, no copy
        return None
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"payload is not UTF-8: {error.reason} at byte {error.start}"
    return None


_SELF_CONTRADICTING: Final = frozenset((Sleeping, Config))


def _check_consistency(message: Message) -> str | None:
    """Why a sleeping message or a config contradicts itself (its `bad_value` detail)."""
    if isinstance(message, Sleeping) and message.wake <= message.ts:
        return "sleeping: wake time is not after the message time"
    if isinstance(message, Config):
        pairs = (("temp_lo_dc", "temp_hi_dc"), ("heat_on_dc", "heat_off_dc"))
        for low_name, high_name in pairs:
            low, high = getattr(message, low_name), getattr(message, high_name)
            if low is not None and high is not None and low >= high:
                return f"config: {low_name} must be below {high_name}"
    return None


def _classify(error: str, payload: bytes) -> tuple[RejectionCode, str]:
    """Turn msgspec's validation message into a stable reason code (the slow, rare path)."""
    version = _declared_version(payload)
    if version != protocol.PROTOCOL_VERSION and version is not _MISSING:
        return "unsupported_version", f"schema version {version!r} is not supported (v1 only)"
    match = _PATH.search(error)
    path = match.group("path") if match else ""
    if error.startswith("Object missing required field"):
        return "missing_field", error
    if error.startswith("Object contains unknown field"):
        return "unknown_field", error
    if path == "ev":
        return "unknown_event", f"unknown event type: {error}"
    if path == "state":
        return "unknown_state", f"unknown status state: {error}"
    if path == "id":
        return "bad_cabinet_id", f"malformed cabinet id: {error}"
    if error.startswith("Expected `object`"):
        return "not_object", f"payload must be a JSON object: {error}"
    if re.match(r"Expected `\w+`, got `\w+`", error):
        return "wrong_type", error
    if error.startswith(("Number out of range", "Expected `int` >=", "Expected `int` <=")):
        return "out_of_range", error
    return "bad_value", error


_MISSING: Final = object()


def _declared_version(payload: bytes) -> object:
    try:
        document = msgspec.json.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return _MISSING
    if not isinstance(document, dict):
        return _MISSING
    version = document.get("v", _MISSING)
    # JSON true == 1 in Python; a boolean version is a type error, not a version
    return _MISSING if isinstance(version, bool) else version
