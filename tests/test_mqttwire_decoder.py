"""The stream decoder: any split of the stream decodes the same, memory stays bounded, and an
oversize PUBLISH is cut without losing what comes around it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aedfleet.collector import mqttwire as wire
from tests.support.fake_broker import PINGRESP_PACKET, publish, publish_of_length, suback

TOPIC = "aed/v1/bz-bc-001/telemetry"
STREAM = b"".join(
    [publish_of_length(TOPIC, n, packet_id=n) for n in (127, 128, 200)]
    + [PINGRESP_PACKET, publish(TOPIC, b"zero", qos=0), suback(1, [1]),
       publish(TOPIC, b"last", qos=2, packet_id=9)]
)  # fmt: skip


def decode(stream: bytes, cuts: list[int], max_packet: int = wire.MAX_PACKET_BYTES) -> list[object]:
    decoder = wire.Decoder(max_packet)
    out: list[object] = []
    start = 0
    for cut in [*sorted(cuts), len(stream)]:
        out += decoder.feed(stream[start : max(start, cut)])
        start = max(start, cut)
    assert decoder.held == 0
    return out


def test_a_stream_split_at_every_byte_offset_decodes_the_same() -> None:
    whole, used = wire.parse(STREAM)
    assert used == len(STREAM) and len(whole) == 7
    for offset in range(len(STREAM) + 1):
        assert decode(STREAM, [offset]) == whole, offset


@pytest.mark.parametrize("remaining", [16_383, 16_384, 2_097_151, 2_097_152])
def test_long_lengths_split_inside_the_length_varint_and_around_the_body(remaining: int) -> None:
    packet = publish_of_length(TOPIC, remaining, packet_id=3)
    stream = packet + PINGRESP_PACKET
    header_size = len(packet) - remaining
    expected, _used = wire.parse(stream)
    for offset in [*range(header_size + 3), len(packet) - 1, len(packet), len(packet) + 1]:
        assert decode(stream, [offset], max_packet=wire.MAX_REMAINING_LENGTH) == expected, offset


@given(st.lists(st.integers(0, len(STREAM)), max_size=30))
def test_any_chunking_decodes_the_same(cuts: list[int]) -> None:
    assert decode(STREAM, cuts) == wire.parse(STREAM)[0]


@given(st.integers(1, 400_000), st.integers(1, 70_000))
@settings(max_examples=40, deadline=None)
def test_an_oversize_publish_is_cut_and_memory_stays_bounded(size: int, chunk: int) -> None:
    limit = 1024
    stream = publish(TOPIC, b"a", packet_id=1) + publish(TOPIC, b"b" * size, packet_id=2)
    stream += publish(TOPIC, b"c", packet_id=3)
    decoder = wire.Decoder(limit)
    out: list[wire.Publish | wire.Control] = []
    for start in range(0, len(stream), chunk):
        out += decoder.feed(stream[start : start + chunk])
        assert decoder.held <= limit + 5
    assert [p.packet_id for p in out if isinstance(p, wire.Publish)] == [1, 2, 3]
    middle = out[1]
    assert isinstance(middle, wire.Publish) and set(middle.payload) <= {ord("b")}
    cut = len(TOPIC) + 4 + size > limit
    assert decoder.oversize == int(cut)
    assert len(middle.payload) == (size if not cut else limit - len(TOPIC) - 4)


def test_an_oversize_packet_that_is_not_a_publish_is_a_protocol_error() -> None:
    decoder = wire.Decoder(1024)
    with pytest.raises(wire.ProtocolError):
        decoder.feed(suback(1, [1] * 2000))
