"""mqttwire against paho-mqtt, the reference client: what one encodes the other decodes the
same way, and what both encode is the same bytes (MQTT 3.1.1).

paho is driven through its own packet writers onto a socketpair (no broker, no thread): the
bytes read back are exactly what paho would put on the wire.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt import _packet as paho_packet
from paho.mqtt.client import Client, MQTTMessageInfo, MQTTv311
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from aedfleet.collector import mqttwire as wire

topics = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00+#", exclude_categories=["Cs"]),
    min_size=1, max_size=80,
)  # fmt: skip
packet_ids = st.integers(1, 65_535)


def paho_bytes(act: Callable[[Client], object], **client: object) -> bytes:
    """What paho writes for `act`, read back from the other end of a socketpair."""
    paho = Client(CallbackAPIVersion.VERSION2, protocol=MQTTv311, **client)  # type: ignore[arg-type]
    ours, theirs = socket.socketpair()
    with ours, theirs:
        paho._sock = ours
        act(paho)
        paho._sock = None
        theirs.setblocking(False)
        out = b""
        while True:
            try:
                data = theirs.recv(1 << 20)
            except BlockingIOError:
                return out
            out += data


@given(
    client_id=st.text(st.characters(codec="ascii", min_codepoint=0x21), min_size=1, max_size=23),
    keepalive=st.integers(0, 65_535),
    clean=st.booleans(),
    login=st.none() | st.tuples(st.text(min_size=1, max_size=30), st.text(max_size=30)),
    will=st.none() | st.tuples(topics, st.binary(max_size=60), st.integers(0, 2), st.booleans()),
)
@settings(max_examples=60, deadline=None)
def test_connect_is_byte_for_byte_what_paho_sends(
    client_id: str,
    keepalive: int,
    clean: bool,
    login: tuple[str, str] | None,
    will: tuple[str, bytes, int, bool] | None,
) -> None:
    def connect(paho: Client) -> None:
        if login is not None:
            paho.username_pw_set(login[0], login[1] or None)
        if will is not None:
            paho.will_set(will[0], will[1], will[2], will[3])
        paho._send_connect(keepalive)

    theirs = paho_bytes(connect, client_id=client_id, clean_session=clean)
    username, password = login or ("", "")
    ours = wire.connect(client_id, keepalive_s=keepalive, clean_session=clean,
                        username=username, password=password, will=will)  # fmt: skip
    assert ours == theirs


@given(st.lists(st.tuples(topics, st.integers(0, 2)), min_size=1, max_size=5))
@settings(max_examples=40, deadline=None)
def test_subscribe_is_byte_for_byte_what_paho_sends(filters: list[tuple[str, int]]) -> None:
    mids: list[int] = []

    def subscribe(paho: Client) -> None:
        mids.append(paho._send_subscribe(0, [(t.encode(), q) for t, q in filters])[1])

    theirs = paho_bytes(subscribe)
    assert wire.subscribe(mids[0], filters) == theirs


@given(packet_ids)
@settings(max_examples=20, deadline=None)
def test_acknowledgements_are_byte_for_byte_what_paho_sends(packet_id: int) -> None:
    puback = paho_bytes(lambda c: c._send_puback(packet_id))
    pubrec = paho_bytes(lambda c: c._send_pubrec(packet_id))
    heads = wire.ACK_HEADS
    assert wire.acknowledgements([heads[1] | packet_id]) == puback
    assert wire.acknowledgements([heads[2] | packet_id]) == pubrec
    assert wire.acknowledgements([heads[2] | packet_id, heads[1] | packet_id]) == pubrec + puback
    assert wire.pubcomp(packet_id) == paho_bytes(lambda c: c._send_pubcomp(packet_id))


publishes = st.lists(
    st.tuples(topics, st.binary(max_size=3000), st.integers(0, 2), packet_ids, st.booleans()),
    min_size=1, max_size=8,
)  # fmt: skip


@given(publishes, st.lists(st.integers(1, 4000), max_size=10), st.integers(64, 5000))
@settings(max_examples=80, deadline=None)
def test_publishes_paho_sends_decode_the_same_in_mqttwire_and_in_paho_in_any_chunks(
    messages: list[tuple[str, bytes, int, int, bool]], cuts: list[int], max_packet: int
) -> None:
    stream = b""
    for topic, payload, qos, packet_id, retain in messages:

        def send(
            paho: Client,
            m: tuple[str, bytes, int, int, bool] = (topic, payload, qos, packet_id, retain),
        ) -> None:
            paho._send_publish(m[3], m[0].encode(), m[1], m[2], m[4], info=MQTTMessageInfo(m[3]))

        stream += paho_bytes(send)
    decoder = wire.Decoder(max_packet)
    decoded: list[wire.Publish | wire.Control] = []
    start = 0
    for cut in [*sorted(cuts), len(stream)]:
        decoded += decoder.feed(stream[start : max(start, cut)])
        start = max(start, cut)
    assert len(decoded) == len(messages)
    position = 0
    for got, (topic, payload, qos, packet_id, retain) in zip(decoded, messages, strict=True):
        assert isinstance(got, wire.Publish)
        found = wire.header(stream, position)
        assert found is not None
        first, length, header_size = found
        body = stream[position + header_size : position + header_size + length]
        position += header_size + length
        reference = paho_packet.decode_publish(first, body, MQTTProtocolVersion.MQTTv311)
        assert (reference.topic.decode(), reference.qos, reference.retain) == (topic, qos, retain)
        assert (got.topic, got.qos, got.retain) == (topic, qos, retain)
        assert got.packet_id == (packet_id if qos else 0) == reference.mid
        if length <= max_packet:
            assert got.payload == payload == reference.payload
        else:  # cut to the limit (never cutting the topic), the beginning kept
            assert payload.startswith(got.payload)
    assert decoder.oversize == sum(
        1
        for t, p, q, _m, _r in messages
        if len(p) + len(t.encode()) + 2 + (2 if q else 0) > max_packet
    )
