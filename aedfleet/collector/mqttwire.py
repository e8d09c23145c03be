"""Pure MQTT 3.1.1 packet encoding and decoding for the collector's subscriber (sans-I/O).

Only what a QoS 1 subscriber needs: CONNECT, SUBSCRIBE, PUBACK, PINGREQ and DISCONNECT out;
CONNACK, SUBACK, PUBLISH and PINGRESP in (and, should a broker send QoS 2 anyway, PUBREC and
PUBCOMP out, PUBREL in, as MQTT 3.1.1 §4.3.3 requires). `parse` turns a receive buffer into as
many whole packets as it holds in one pass, which is where the speed over a general client comes
from; `Decoder` feeds it a stream with a bound on what it holds in memory.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

import msgspec

CONNACK: Final = 2
PUBLISH: Final = 3
PUBACK: Final = 4
PUBREL: Final = 6
SUBACK: Final = 9
PINGRESP: Final = 13
PINGREQ_PACKET: Final = b"\xc0\x00"
DISCONNECT_PACKET: Final = b"\xe0\x00"
MAX_REMAINING_LENGTH: Final = 268_435_455
# the most a packet may hold before the decoder stops buffering it: any topic (65,535 bytes at
# most) and far more than a protocol payload (1 KiB); a bigger PUBLISH is cut to this, counted,
# and its rest discarded as it streams past
MAX_PACKET_BYTES: Final = 131_072
SUBACK_FAILURE: Final = 0x80
CONNACK_REASONS: Final = {
    1: "unacceptable protocol version",
    2: "client id rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorised",
}


class ProtocolError(Exception):
    """The broker sent bytes that are not MQTT 3.1.1; the connection must be dropped."""


class Publish(msgspec.Struct, frozen=True, gc=False):
    """One PUBLISH (a struct built in C: one is made per message)."""

    topic: str
    payload: bytes
    qos: int
    packet_id: int
    retain: bool


class Control(NamedTuple):
    """Any other packet: its type and its variable header and payload."""

    kind: int
    body: bytes


def _remaining_length(length: int) -> bytes:
    out = bytearray()
    while True:
        digit, length = length % 128, length // 128
        out.append(digit | 0x80 if length else digit)
        if not length:
            return bytes(out)


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + _remaining_length(len(body)) + body


def connect(
    client_id: str,
    *,
    keepalive_s: int,
    clean_session: bool,
    username: str = "",
    password: str = "",
    will: tuple[str, bytes, int, bool] | None = None,
) -> bytes:
    flags = 0x02 if clean_session else 0
    payload = _string(client_id)
    if will is not None:
        topic, message, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        payload += _string(topic) + struct.pack("!H", len(message)) + message
    if username:
        flags |= 0x80
        payload += _string(username)
        if password:
            flags |= 0x40
            payload += _string(password)
    header = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive_s)
    return _packet(0x10, header + payload)


def subscribe(packet_id: int, topics: list[tuple[str, int]]) -> bytes:
    body = struct.pack("!H", packet_id) + b"".join(_string(t) + bytes([q]) for t, q in topics)
    return _packet(0x82, body)


# A PUBACK (QoS 1) or PUBREC (QoS 2) is its type, a remaining length of 2 and the packet id: as
# a big-endian 32-bit word, a constant head ORed with the id, so a batch's are packed at once.
ACK_HEADS: Final = {1: 0x4002_0000, 2: 0x5002_0000}


def acknowledgements(words: list[int]) -> bytes:
    """PUBACKs and PUBRECs, each given as `ACK_HEADS[qos] | packet_id`, in order."""
    return struct.pack(f">{len(words)}I", *words)


def pubcomp(packet_id: int) -> bytes:
    return b"\x70\x02" + packet_id.to_bytes(2, "big")


def suback_codes(body: bytes) -> tuple[int, bytes]:
    """The packet id and the return code of each topic filter, in SUBSCRIBE order."""
    if len(body) < 3:
        raise ProtocolError("SUBACK too short")
    return (body[0] << 8) | body[1], body[2:]


def connack_error(body: bytes) -> str | None:
    """None when the broker accepted the connection, else its reason."""
    if len(body) != 2:
        raise ProtocolError("CONNACK must be 2 bytes")
    code = body[1]
    return None if code == 0 else CONNACK_REASONS.get(code, f"refused with code {code}")


def session_present(body: bytes) -> bool:
    """The CONNACK's session-present flag (its first byte's lowest bit)."""
    return bool(body[0] & 1)


def parse(
    buffer: bytes | bytearray, max_length: int = MAX_REMAINING_LENGTH
) -> tuple[list[Publish | Control], int]:
    """All whole packets at the start of `buffer`, and how many bytes they used. Stops before
    a packet longer than `max_length` (see `header`)."""
    packets: list[Publish | Control] = []
    position = 0
    size = len(buffer)
    while position + 2 <= size:
        first = buffer[position]
        index = position + 1
        length = 0
        shift = 0
        while True:
            if index >= size:
                return packets, position
            digit = buffer[index]
            index += 1
            length |= (digit & 0x7F) << shift
            if digit < 0x80:
                break
            shift += 7
            if shift > 21:
                raise ProtocolError("remaining length longer than 4 bytes")
        end = index + length
        if end > size or length > max_length:
            break
        kind = first >> 4
        if kind == PUBLISH:
            if length < 2:
                raise ProtocolError("PUBLISH too short for its topic")
            topic_end = index + 2 + ((buffer[index] << 8) | buffer[index + 1])
            qos = (first >> 1) & 3
            payload_start = topic_end + 2 if qos else topic_end
            if payload_start > end or qos == 3:
                raise ProtocolError("malformed PUBLISH")
            packet_id = (buffer[topic_end] << 8) | buffer[topic_end + 1] if qos else 0
            packets.append(
                Publish(
                    bytes(buffer[index + 2 : topic_end]).decode("utf-8", "replace"),
                    bytes(buffer[payload_start:end]),
                    qos,
                    packet_id,
                    bool(first & 1),
                )
            )
        else:
            packets.append(Control(kind, bytes(buffer[index:end])))
        position = end
    return packets, position


def header(buffer: bytes, position: int = 0) -> tuple[int, int, int] | None:
    """The first byte, remaining length and header size of the packet at `position`, or None
    while its fixed header is incomplete."""
    size = len(buffer)
    index = position + 1
    length = 0
    shift = 0
    while True:
        if index >= size:
            return None
        digit = buffer[index]
        index += 1
        length |= (digit & 0x7F) << shift
        if digit < 0x80:
            return buffer[position], length, index - position
        shift += 7
        if shift > 21:
            raise ProtocolError("remaining length longer than 4 bytes")


class Decoder:
    """Packets out of a byte stream, holding at most about `max_packet` bytes.

    The common case costs one `parse` over each chunk as read: only a packet split across
    reads is kept, and its parts are joined once, when it is whole (no copy per read). A
    PUBLISH longer than `max_packet` is decided on from its fixed header: its first
    `max_packet` bytes are kept, the rest is discarded as it arrives, and it comes out cut
    (`oversize` counts them; the caller rejects it and still acknowledges it, so it cannot
    come back forever).
    """

    def __init__(self, max_packet: int = MAX_PACKET_BYTES) -> None:
        self._max = max_packet
        self._parts: list[bytes] = []
        self._have = 0
        self._need = 0  # bytes that complete the first held packet; 0 while its header is short
        self._skip = 0  # bytes of an oversize packet still to discard
        self.oversize = 0
        self.last_oversize_bytes = 0

    @property
    def held(self) -> int:
        """Bytes kept in memory between reads."""
        return self._have

    def feed(self, chunk: bytes) -> list[Publish | Control]:
        if self._skip:
            dropped = min(self._skip, len(chunk))
            self._skip -= dropped
            chunk = chunk[dropped:]
            if not chunk:
                return []
        if self._parts:
            self._parts.append(chunk)
            self._have += len(chunk)
            if self._have < self._need:
                return []
            data = b"".join(self._parts)
            self._parts = []
            self._have = 0
        else:
            data = chunk
        packets, used = parse(data, self._max)
        while used < len(data):
            found = header(data, used)
            if found is None or found[1] <= self._max:
                break  # an incomplete packet of a normal size: wait for the rest
            first, length, header_size = found
            if first >> 4 != PUBLISH:
                raise ProtocolError(f"a packet of type {first >> 4} longer than {self._max} bytes")
            start = used + header_size
            if len(data) < start + 2:
                break  # wait for the topic's length
            # keep the whole topic and packet id even past the limit: a topic is 65,535 bytes
            # at most, the limit's default holds any
            keep = start + max(self._max, min(length, (data[start] << 8 | data[start + 1]) + 4))
            if len(data) < keep:
                break  # wait until the part worth keeping is here
            packets.append(self._cut(data[start:keep], first, length))
            end = used + header_size + length
            if end > len(data):
                self._skip = end - len(data)
                return packets
            more, used_more = parse(data[end:], self._max)
            packets += more
            used = end + used_more
        self._hold(data, used)
        return packets

    def _hold(self, data: bytes, used: int) -> None:
        if used == len(data):
            self._have = self._need = 0
            return
        rest = data[used:]
        self._parts = [rest]
        self._have = len(rest)
        found = header(rest)
        if found is None:
            self._need = 0
        else:
            _first, length, header_size = found
            self._need = header_size + min(length, self._max)

    def _cut(self, kept: bytes, first: int, length: int) -> Publish:
        """The PUBLISH of `length` bytes whose first `kept` bytes are here, cut to those."""
        cut, _used = parse(_packet(first, kept))
        if len(cut) != 1 or not isinstance(cut[0], Publish):
            raise ProtocolError("malformed PUBLISH")
        self.oversize += 1
        self.last_oversize_bytes = length
        return cut[0]
