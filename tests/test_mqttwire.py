"""The collector's MQTT 3.1.1 codec: exact bytes out, whole packets in, never a crash."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aedfleet.collector import mqttwire as wire


def publish_packet(topic: str, payload: bytes, qos: int = 1, packet_id: int = 7) -> bytes:
    """A PUBLISH as the broker sends it (written here from the spec, independently)."""
    topic_bytes = topic.encode()
    body = struct.pack("!H", len(topic_bytes)) + topic_bytes
    if qos:
        body += struct.pack("!H", packet_id)
    body += payload
    length = len(body)
    encoded = bytearray()
    while True:
        length, digit = divmod(length, 128)
        encoded.append(digit | (0x80 if length else 0))
        if not length:
            break
    return bytes([0x30 | qos << 1]) + bytes(encoded) + body


def test_connect_bytes_match_the_spec() -> None:
    packet = wire.connect("c1", keepalive_s=30, clean_session=False, username="u", password="p")
    assert packet == b"\x10\x14\x00\x04MQTT\x04\xc0\x00\x1e\x00\x02c1\x00\x01u\x00\x01p"


def test_connect_with_a_retained_qos1_will() -> None:
    packet = wire.connect(
        "c", keepalive_s=10, clean_session=True, will=("t/s", b"offline", 1, True)
    )
    flags = packet[9]
    assert flags == 0x02 | 0x04 | 0x08 | 0x20
    assert packet.endswith(b"\x00\x03t/s\x00\x07offline")


def test_subscribe_and_puback_bytes() -> None:
    assert wire.subscribe(1, [("a/+", 1)]) == b"\x82\x08\x00\x01\x00\x03a/+\x01"
    assert wire.acknowledgements([wire.ACK_HEADS[1] | 0x1234]) == b"\x40\x02\x12\x34"


def test_parse_splits_many_packets_and_keeps_the_partial_tail() -> None:
    stream = b"".join(
        publish_packet(f"aed/v1/c{n}/telemetry", b"x" * n, packet_id=n + 1) for n in range(300)
    )
    stream += b"\xd0\x00"  # PINGRESP
    cut = len(stream) - 5
    packets, used = wire.parse(stream[:cut])
    rest, used_rest = wire.parse(stream[used:])
    assert used_rest == len(stream) - used
    everything = packets + rest
    assert len(everything) == 301
    first = everything[0]
    assert first == wire.Publish("aed/v1/c0/telemetry", b"", 1, 1, False)
    assert everything[299] == wire.Publish("aed/v1/c299/telemetry", b"x" * 299, 1, 300, False)
    assert everything[300] == wire.Control(wire.PINGRESP, b"")


def test_large_payload_uses_a_multi_byte_length() -> None:
    packet = publish_packet("t", b"y" * 20_000, qos=0)
    assert wire.parse(packet) == ([wire.Publish("t", b"y" * 20_000, 0, 0, False)], len(packet))


def test_connack_refusal_is_explained() -> None:
    assert wire.connack_error(b"\x00\x00") is None
    assert wire.connack_error(b"\x00\x05") == "not authorised"
    with pytest.raises(wire.ProtocolError):
        wire.connack_error(b"\x00")


def test_a_five_byte_length_is_a_protocol_error() -> None:
    with pytest.raises(wire.ProtocolError):
        wire.parse(b"\x30\xff\xff\xff\xff\x01")


@given(st.binary(max_size=600))
def test_random_bytes_parse_or_raise_protocol_error_only(data: bytes) -> None:
    try:
        _packets, used = wire.parse(data)
    except wire.ProtocolError:
        return
    assert 0 <= used <= len(data)


@given(st.integers(0, 3), st.binary(max_size=40), st.integers(0, 2**16 - 1))
def test_publish_with_a_lying_topic_length_is_a_protocol_error(
    qos: int, body: bytes, topic_length: int
) -> None:
    packet = bytes([0x30 | qos << 1, len(body) + 2]) + struct.pack("!H", topic_length) + body
    try:
        packets, _used = wire.parse(packet)
    except wire.ProtocolError:
        return
    assert isinstance(packets[0], wire.Publish)
