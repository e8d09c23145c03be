"""Pure MQTT 3.1.1 packet encoding and decoding for the collector's subscriber (sans-I/O).

Only what a QoS 1 subscriber needs: CONNECT, SUBSCRIBE, PUBACK, PINGREQ and DISCONNECT out;
CONNACK, SUBACK, PUBLISH and PINGRESP in. `parse` turns a receive buffer into as many whole
packets as it holds in one pass, which is where the speed over a general client comes from.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

CONNACK: Final = 2
PUBLISH: Final = 3
PUBACK: Final = 4
SUBACK: Final = 9
PINGRESP: Final = 13
PINGREQ_PACKET: Final = b"\xc0\x00"
DISCONNECT_PACKET: Final = b"\xe0\x00"
MAX_REMAINING_LENGTH: Final = 268_435_455
CONNACK_REASONS: Final = {
    1: "unacceptable protocol version",
    2: "client id rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorised",
}


class ProtocolError(Exception):
    """The broker sent bytes that are not MQTT 3.1.1; the connection must be dropped."""


class Publish(NamedTuple):
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


def puback(packet_id: int) -> bytes:
    return b"\x40\x02" + packet_id.to_bytes(2, "big")


def connack_error(body: bytes) -> str | None:
    """None when the broker accepted the connection, else its reason."""
    if len(body) != 2:
        raise ProtocolError("CONNACK must be 2 bytes")
    code = body[1]
    return None if code == 0 else CONNACK_REASONS.get(code, f"refused with code {code}")


def parse(buffer: bytes | bytearray) -> tuple[list[Publish | Control], int]:
    """All whole packets at the start of `buffer`, and how many bytes they used."""
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
        if end > size:
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
